-- Running downgrade 0001 -> 

DROP INDEX ix_dvf_registration_dept_rel

/

DROP TABLE dvf_registration

/

DELETE FROM dvf_alembic_version WHERE dvf_alembic_version.version_num = '0001'

/

COMMIT

/

