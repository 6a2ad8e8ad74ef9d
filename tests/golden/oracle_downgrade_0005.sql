-- Running downgrade 0005 -> 0004

UPDATE dvf_alembic_version SET version_num='0004' WHERE dvf_alembic_version.version_num = '0005'

/

COMMIT

/

