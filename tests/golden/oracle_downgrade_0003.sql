-- Running downgrade 0003 -> 0002

DROP TABLE dvf_chain_head

/

DROP TABLE dvf_audit_event

/

UPDATE dvf_alembic_version SET version_num='0002' WHERE dvf_alembic_version.version_num = '0003'

/

COMMIT

/

