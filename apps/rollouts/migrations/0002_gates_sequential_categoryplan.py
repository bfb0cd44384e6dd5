"""Gates become always-valid guardrails (metric, comparison, harm line); stages get a minimum of
candidate outcomes (from the largest ``min_samples`` of their old gates); plans get α and an
advance rule; rollouts keep their stage log; which plan a category uses moves here from
``sops.Category.rollout_plan`` (copied before ``sops`` 0004 drops that column)."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


def copy_forward(apps, schema_editor):
    Category = apps.get_model("sops", "Category")
    CategoryPlan = apps.get_model("rollouts", "CategoryPlan")
    PlanStage = apps.get_model("rollouts", "PlanStage")
    GateRule = apps.get_model("rollouts", "GateRule")
    for category in Category.objects.exclude(rollout_plan__isnull=True):
        CategoryPlan.objects.get_or_create(category_id=category.pk, defaults={"plan_id": category.rollout_plan_id})
    for stage in PlanStage.objects.all():
        samples = [g.min_samples for g in GateRule.objects.filter(stage=stage)]
        stage.min_outcomes = max(samples) if samples else (0 if stage.percentage >= 100 else 50)
        stage.save(update_fields=["min_outcomes"])
    # The shipped plans' relative gates (1.5 × stable's, judged on point estimates) become the new
    # shipped harm line, 1.0 (any clear increase). Plans people wrote keep their numbers.
    GateRule.objects.filter(
        comparison="relative", threshold=1.5, stage__plan__name__in=["Standard canary", "Demo (fast)"]
    ).update(threshold=1.0)


class Migration(migrations.Migration):

    dependencies = [
        ('rollouts', '0001_initial'),
        ('sops', '0003_periodic_review'),
    ]

    operations = [
        migrations.CreateModel(
            name='CategoryPlan',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
            ],
            options={
                'verbose_name': "category's rollout plan",
            },
        ),
        migrations.AddField(
            model_name='historicalrollout',
            name='advance_on',
            field=models.CharField(choices=[('no_harm', 'No evidence of harm (soak and minimum outcomes met)'), ('non_inferiority', "Shown within every gate's harm line (non-inferiority)")], default='no_harm', max_length=16),
        ),
        migrations.AddField(
            model_name='historicalrollout',
            name='alpha',
            field=models.FloatField(default=0.05, help_text="The plan's α when the rollout started."),
        ),
        migrations.AddField(
            model_name='historicalrollout',
            name='stage_log',
            field=models.JSONField(blank=True, default=list, help_text='[{stage, percentage, started_at}]: when each stage began.'),
        ),
        migrations.AddField(
            model_name='historicalrolloutplan',
            name='advance_on',
            field=models.CharField(choices=[('no_harm', 'No evidence of harm (soak and minimum outcomes met)'), ('non_inferiority', "Shown within every gate's harm line (non-inferiority)")], default='no_harm', help_text='What a stage needs, besides its soak time and minimum outcomes, to advance.', max_length=16),
        ),
        migrations.AddField(
            model_name='historicalrolloutplan',
            name='alpha',
            field=models.FloatField(default=0.05, help_text='Risk of rolling back a version that is as good as stable, per rollout, across all its gates and stages (0.05 = 5 %).', validators=[django.core.validators.MinValueValidator(0.001), django.core.validators.MaxValueValidator(0.2)]),
        ),
        migrations.AddField(
            model_name='planstage',
            name='min_outcomes',
            field=models.PositiveIntegerField(default=50, help_text='Candidate outcomes reported in this stage before it may advance.'),
        ),
        migrations.AddField(
            model_name='rollout',
            name='advance_on',
            field=models.CharField(choices=[('no_harm', 'No evidence of harm (soak and minimum outcomes met)'), ('non_inferiority', "Shown within every gate's harm line (non-inferiority)")], default='no_harm', max_length=16),
        ),
        migrations.AddField(
            model_name='rollout',
            name='alpha',
            field=models.FloatField(default=0.05, help_text="The plan's α when the rollout started."),
        ),
        migrations.AddField(
            model_name='rollout',
            name='stage_log',
            field=models.JSONField(blank=True, default=list, help_text='[{stage, percentage, started_at}]: when each stage began.'),
        ),
        migrations.AddField(
            model_name='rolloutplan',
            name='advance_on',
            field=models.CharField(choices=[('no_harm', 'No evidence of harm (soak and minimum outcomes met)'), ('non_inferiority', "Shown within every gate's harm line (non-inferiority)")], default='no_harm', help_text='What a stage needs, besides its soak time and minimum outcomes, to advance.', max_length=16),
        ),
        migrations.AddField(
            model_name='rolloutplan',
            name='alpha',
            field=models.FloatField(default=0.05, help_text='Risk of rolling back a version that is as good as stable, per rollout, across all its gates and stages (0.05 = 5 %).', validators=[django.core.validators.MinValueValidator(0.001), django.core.validators.MaxValueValidator(0.2)]),
        ),
        migrations.AlterField(
            model_name='gaterule',
            name='comparison',
            field=models.CharField(choices=[('absolute', "Candidate's rate"), ('relative', "Candidate's rate ÷ stable's rate")], default='relative', max_length=10),
        ),
        migrations.AlterField(
            model_name='gaterule',
            name='threshold',
            field=models.FloatField(help_text="Harm line: a rate (absolute, 0.05 = 5 %) or a multiple of stable's rate (relative, 1.0 = any increase).", validators=[django.core.validators.MinValueValidator(0.0)]),
        ),
        migrations.AddConstraint(
            model_name='rolloutplan',
            constraint=models.CheckConstraint(condition=models.Q(('alpha__gt', 0), ('alpha__lt', 1)), name='rolloutplan_alpha_0_1'),
        ),
        migrations.AddField(
            model_name='categoryplan',
            name='category',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='rollout_plan_choice', to='sops.category'),
        ),
        migrations.AddField(
            model_name='categoryplan',
            name='plan',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='category_choices', to='rollouts.rolloutplan'),
        ),
        migrations.RunPython(copy_forward, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='gaterule',
            name='min_samples',
        ),
        migrations.RemoveField(
            model_name='gaterule',
            name='operator',
        ),
        migrations.RemoveField(
            model_name='gaterule',
            name='window_seconds',
        ),
    ]
