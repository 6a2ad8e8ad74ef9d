-- Running upgrade 0004 -> 0005

CREATE INDEX ix_dvf_registration_updated ON dvf_registration (updated_at)

/

UPDATE dvf_alembic_version SET version_num='0005' WHERE dvf_alembic_version.version_num = '0004'

/

COMMIT

/

