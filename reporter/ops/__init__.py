"""Operations: the command line, the demo, backups, the private database cluster, migrations."""
