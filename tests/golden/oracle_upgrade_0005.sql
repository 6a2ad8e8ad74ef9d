-- Running upgrade 0004 -> 0005

UPDATE dvf_alembic_version SET version_num='0005' WHERE dvf_alembic_version.version_num = '0004'

/

COMMIT

/

