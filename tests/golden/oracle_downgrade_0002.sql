-- Running downgrade 0002 -> 0001

DROP TABLE dvf_user_role

/

DROP TABLE dvf_app_user

/

UPDATE dvf_alembic_version SET version_num='0001' WHERE dvf_alembic_version.version_num = '0002'

/

COMMIT

/

