"""Pure cryptography over bytes: the envelope, the report payload schema, receipts and
signing. Imports no Flask and no database (an import contract checks it); the JavaScript
twins in reporter/static/js run the same vectors."""
