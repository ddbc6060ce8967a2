"""Validate JSON documents against a JSON Schema with the reference
`jsonschema` implementation.

Usage: validate_schema.py SCHEMA_FILE < documents.json   (a JSON list)
Prints a JSON list: for each document, null if valid, else the first error.
"""
import json
import sys

import jsonschema

with open(sys.argv[1]) as schema_file:
    schema = json.load(schema_file)
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
results = []
for document in json.load(sys.stdin):
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    results.append(None if error is None else error.message)
print(json.dumps(results))
