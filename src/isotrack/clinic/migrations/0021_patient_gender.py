# The patient's administrative gender (FHIR Patient.gender). The patients registered before it get "unknown":
# nobody said; the field has no default for the patients registered after it.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clinic', '0020_identifier_and_note_limits'),
    ]

    operations = [
        migrations.AddField(
            model_name='patient',
            name='gender',
            field=models.CharField(
                choices=[('female', 'Female'), ('male', 'Male'), ('other', 'Other'), ('unknown', 'Unknown')],
                default='unknown',
                max_length=7,
            ),
            preserve_default=False,
        ),
    ]
