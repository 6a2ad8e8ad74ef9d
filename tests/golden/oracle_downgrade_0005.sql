-- Running downgrade 0005 -> 0004

DROP INDEX ix_dvf_registration_updated

/

UPDATE dvf_alembic_version SET version_num='0004' WHERE dvf_alembic_version.version_num = '0005'

/

COMMIT

/

