-- Running downgrade 0006 -> 0005

DROP INDEX uq_dvf_audit_event_seq

/

ALTER TABLE dvf_audit_event ADD CONSTRAINT uq_dvf_audit_event_seq UNIQUE (seq)

/

UPDATE dvf_alembic_version SET version_num='0005' WHERE dvf_alembic_version.version_num = '0006'

/

-- Running downgrade 0005 -> 0004

DROP INDEX ix_dvf_registration_updated

/

UPDATE dvf_alembic_version SET version_num='0004' WHERE dvf_alembic_version.version_num = '0005'

/

-- Running downgrade 0004 -> 0003

DROP TABLE dvf_audit_seal

/

DROP TABLE dvf_change_log

/

ALTER TABLE dvf_chain_head ADD change_no NUMBER(19) DEFAULT '0' NOT NULL

/

ALTER TABLE dvf_chain_head ADD output_no NUMBER(19) DEFAULT '0' NOT NULL

/

UPDATE dvf_chain_head SET change_no = (SELECT c.counter_no FROM dvf_counter c WHERE c.counter_name = 'change'), output_no = (SELECT c.counter_no FROM dvf_counter c WHERE c.counter_name = 'output')

/

DROP TABLE dvf_counter

/

ALTER TABLE dvf_audit_event RENAME TO dvf_audit_event_v4

/

ALTER TABLE dvf_audit_event_v4 DROP CONSTRAINT uq_dvf_audit_event_event_id

/

ALTER TABLE dvf_audit_event_v4 DROP CONSTRAINT uq_dvf_audit_event_seq

/

ALTER TABLE dvf_audit_event_v4 DROP CONSTRAINT ck_dvf_audit_event_outcome

/

ALTER TABLE dvf_audit_event_v4 DROP CONSTRAINT ck_dvf_audit_event_seal_state

/

ALTER TABLE dvf_audit_event_v4 DROP CONSTRAINT pk_dvf_audit_event

/

DROP INDEX ix_dvf_audit_event_sealed

/

CREATE TABLE dvf_audit_event (
    seq NUMBER(19) NOT NULL, 
    event_id VARCHAR2(36 CHAR) NOT NULL, 
    occurred_at TIMESTAMP NOT NULL, 
    actor_id VARCHAR2(64 CHAR) NOT NULL, 
    actor_dept VARCHAR2(16 CHAR) NOT NULL, 
    action VARCHAR2(32 CHAR) NOT NULL, 
    target VARCHAR2(64 CHAR), 
    outcome VARCHAR2(16 CHAR) NOT NULL, 
    reason_code VARCHAR2(64 CHAR), 
    details CLOB NOT NULL, 
    prev_hash VARCHAR2(64 CHAR) NOT NULL, 
    event_hash VARCHAR2(64 CHAR) NOT NULL, 
    CONSTRAINT pk_dvf_audit_event PRIMARY KEY (seq), 
    CONSTRAINT uq_dvf_audit_event_event_id UNIQUE (event_id), 
    CONSTRAINT ck_dvf_audit_event_outcome CHECK (outcome IN ('ok', 'denied', 'error'))
)

/

INSERT INTO dvf_audit_event (seq, event_id, occurred_at, actor_id, actor_dept, action, target, outcome, reason_code, details, prev_hash, event_hash) SELECT seq, event_id, occurred_at, actor_id, actor_dept, action, target, outcome, reason_code, details, prev_hash, event_hash FROM dvf_audit_event_v4 WHERE sealed = 1

/

DROP TABLE dvf_audit_event_v4

/

UPDATE dvf_alembic_version SET version_num='0003' WHERE dvf_alembic_version.version_num = '0004'

/

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

