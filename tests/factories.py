"""Test data: people in roles, categories and SOPs (versions go through the services)."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from apps.sops.models import SOP, Category


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.django.Password("pw")

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=extracted))


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"cat{n}")
    name = factory.LazyAttribute(lambda c: c.slug.title())
    min_approvals = 1


class SOPFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SOP

    category = factory.SubFactory(CategoryFactory)
    key = factory.Sequence(lambda n: f"procedure_{n}")
    title = factory.LazyAttribute(lambda s: s.key.replace("_", " ").title())
    owner = factory.SubFactory(UserFactory)
