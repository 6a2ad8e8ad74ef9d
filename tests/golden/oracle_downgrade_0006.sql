-- Running downgrade 0006 -> 0005

DROP INDEX uq_dvf_audit_event_seq

/

ALTER TABLE dvf_audit_event ADD CONSTRAINT uq_dvf_audit_event_seq UNIQUE (seq)

/

UPDATE dvf_alembic_version SET version_num='0005' WHERE dvf_alembic_version.version_num = '0006'

/

COMMIT

/

