-- Running downgrade 0003 -> 0002

DROP TABLE dvf_chain_head

/

DROP TABLE dvf_audit_event

/

UPDATE dvf_alembic_version SET version_num='0002' WHERE dvf_alembic_version.version_num = '0003'

/

-- Running downgrade 0002 -> 0001

DROP TABLE dvf_user_role

/

DROP TABLE dvf_app_user

/

UPDATE dvf_alembic_version SET version_num='0001' WHERE dvf_alembic_version.version_num = '0002'

/

-- Running downgrade 0001 -> 

DROP INDEX ix_dvf_registration_dept_rel

/

DROP TABLE dvf_registration

/

DELETE FROM dvf_alembic_version WHERE dvf_alembic_version.version_num = '0001'

/

COMMIT

/

