"""Query filters shared by the API's list endpoints."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django_filters import filters
from django_filters.fields import IsoDateTimeField

# Real UTC offsets run from -12:00 to +14:00 (RFC 3339 allows any); PostgreSQL refuses a
# timestamp whose offset is beyond ±15:59 with an error, so such input is refused here first.
MAX_UTC_OFFSET = timedelta(hours=14)


class BoundedIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time whose UTC offset lies within ±14:00 (else a validation error)."""

    def to_python(self, value: Any) -> datetime | None:
        try:
            parsed = super().to_python(value)
        except OverflowError as exc:  # a date at the edge of datetime's range moved by its offset
            raise forms.ValidationError("The date is out of range.", code="out_of_range") from exc
        offset = parsed.utcoffset() if parsed is not None else None
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise forms.ValidationError(
                "The time zone offset must be between -14:00 and +14:00.", code="invalid_offset"
            )
        return parsed


class IsoDateTimeFilter(filters.IsoDateTimeFilter):
    """django-filter's ISO 8601 date-time filter with :class:`BoundedIsoDateTimeField`."""

    field_class = BoundedIsoDateTimeField
