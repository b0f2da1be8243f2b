"""Persistence: models, migrations, repositories and the plan loader."""
