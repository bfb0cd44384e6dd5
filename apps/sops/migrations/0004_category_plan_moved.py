"""Which plan a category uses now lives in ``rollouts.CategoryPlan`` (copied by rollouts 0002)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('sops', '0003_periodic_review'),
        ('rollouts', '0002_gates_sequential_categoryplan'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='category',
            name='rollout_plan',
        ),
        migrations.RemoveField(
            model_name='historicalcategory',
            name='rollout_plan',
        ),
    ]
