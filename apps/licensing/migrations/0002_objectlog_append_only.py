"""On PostgreSQL, the object log refuses UPDATE and DELETE at the database level too."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION licensing_objectlog_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'licensing_objectlogentry is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER licensing_objectlog_append_only
    BEFORE UPDATE OR DELETE ON licensing_objectlogentry
    FOR EACH ROW EXECUTE FUNCTION licensing_objectlog_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS licensing_objectlog_append_only ON licensing_objectlogentry;
DROP FUNCTION IF EXISTS licensing_objectlog_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("licensing", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
