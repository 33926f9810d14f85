"""engine core: deployments, instances, human tasks, timers, audit

Revision ID: 0001
Revises: 
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_instance', ['instance_id'], unique=False)
        batch_op.create_index('ix_audit_subject', ['subject'], unique=False)

    audit_head = op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    # The chain starts from the genesis hash; appends lock and advance this one row.
    op.bulk_insert(audit_head, [{'id': 1, 'seq': 0, 'hash': '0' * 64}])
    op.create_table('deployment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=500), nullable=False),
    sa.Column('xml', sa.Text(), nullable=False),
    sa.Column('requires', sa.JSON(), nullable=False),
    sa.Column('deployed_by', sa.String(length=100), nullable=False),
    sa.Column('deployed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('is_latest', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', 'version', name='uq_deployment_key_version')
    )
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.create_index('ix_deployment_key_sha256', ['key', 'sha256'], unique=False)

    op.create_table('process_instance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('bundle', sa.JSON(), nullable=False),
    sa.Column('business_key', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('state', sa.LargeBinary(), nullable=False),
    sa.Column('started_by', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index('ix_instance_business_key', ['business_key'], unique=False)
        batch_op.create_index('ix_instance_key_status', ['process_key', 'status'], unique=False)

    op.create_table('human_task',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('business_key', sa.String(length=200), nullable=True),
    sa.Column('element_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('lane', sa.String(length=200), nullable=True),
    sa.Column('assignee', sa.String(length=100), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.String(length=100), nullable=True),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('documentation', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.create_index('ix_human_task_assignee_state_due', ['assignee', 'state', 'due_at'], unique=False)
        batch_op.create_index('ix_human_task_instance_state', ['instance_id', 'state'], unique=False)
        batch_op.create_index('ix_human_task_state_due', ['state', 'due_at'], unique=False)

    op.create_table('timer_job',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('incident', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('timer_job', schema=None) as batch_op:
        batch_op.create_index('ix_timer_job_next_run', ['incident', 'next_run_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_timer_job_instance_id'), ['instance_id'], unique=False)

    op.create_table('task_candidate',
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', 'kind', 'name')
    )
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.create_index('ix_task_candidate_kind_name', ['kind', 'name'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidate_kind_name')

    op.drop_table('task_candidate')
    with op.batch_alter_table('timer_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timer_job_instance_id'))
        batch_op.drop_index('ix_timer_job_next_run')

    op.drop_table('timer_job')
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_state_due')
        batch_op.drop_index('ix_human_task_instance_state')
        batch_op.drop_index('ix_human_task_assignee_state_due')

    op.drop_table('human_task')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_key_status')
        batch_op.drop_index('ix_instance_business_key')

    op.drop_table('process_instance')
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.drop_index('ix_deployment_key_sha256')

    op.drop_table('deployment')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_subject')
        batch_op.drop_index('ix_audit_instance')

    op.drop_table('audit_event')

