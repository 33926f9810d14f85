"""supervision_desk: the issue ledger, listed supervision and the 13710 desk as rows

Revision ID: 0006_supervision_desk
Revises: 0004
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_supervision_desk'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('issue_ledger',
    sa.Column('instance_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('business_key', sa.String(length=200), nullable=True),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('project_code', sa.String(length=50), nullable=True),
    sa.Column('project_name', sa.String(length=200), nullable=True),
    sa.Column('sub_command', sa.String(length=50), nullable=True),
    sa.Column('township', sa.String(length=50), nullable=True),
    sa.Column('responsible_unit', sa.String(length=50), nullable=True),
    sa.Column('scope', sa.String(length=20), nullable=True),
    sa.Column('severity', sa.String(length=20), nullable=True),
    sa.Column('rung', sa.Integer(), nullable=True),
    sa.Column('rung_name', sa.String(length=100), nullable=True),
    sa.Column('handler', sa.String(length=200), nullable=True),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('plan', sa.Text(), nullable=True),
    sa.Column('promised_date', sa.Date(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalate_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('listed', sa.Boolean(), nullable=False),
    sa.Column('listed_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('instance_id')
    )
    with op.batch_alter_table('issue_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_issue_ledger_unit_step', ['responsible_unit', 'step'], unique=False)
        batch_op.create_index('ix_issue_ledger_sub_command_step', ['sub_command', 'step'], unique=False)
        batch_op.create_index('ix_issue_ledger_step_due', ['step', 'due_at'], unique=False)
        batch_op.create_index('ix_issue_ledger_rung', ['rung'], unique=False)

    op.create_table('issue_listing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('listed_by', sa.String(length=100), nullable=False),
    sa.Column('listed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('lifted_by', sa.String(length=100), nullable=True),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lift_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('issue_listing', schema=None) as batch_op:
        batch_op.create_index('ix_issue_listing_instance', ['instance_id', 'lifted_at'], unique=False)

    op.create_table('instruction_desk',
    sa.Column('instance_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('business_key', sa.String(length=200), nullable=True),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=True),
    sa.Column('complexity', sa.String(length=20), nullable=True),
    sa.Column('responsible_unit', sa.String(length=50), nullable=True),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assign_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('progress_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('progress_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('plan_date', sa.Date(), nullable=True),
    sa.Column('rating', sa.String(length=20), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('instance_id')
    )
    with op.batch_alter_table('instruction_desk', schema=None) as batch_op:
        batch_op.create_index('ix_instruction_desk_unit_step', ['responsible_unit', 'step'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('instruction_desk', schema=None) as batch_op:
        batch_op.drop_index('ix_instruction_desk_unit_step')
    op.drop_table('instruction_desk')
    with op.batch_alter_table('issue_listing', schema=None) as batch_op:
        batch_op.drop_index('ix_issue_listing_instance')
    op.drop_table('issue_listing')
    with op.batch_alter_table('issue_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_issue_ledger_rung')
        batch_op.drop_index('ix_issue_ledger_step_due')
        batch_op.drop_index('ix_issue_ledger_sub_command_step')
        batch_op.drop_index('ix_issue_ledger_unit_step')
    op.drop_table('issue_ledger')
