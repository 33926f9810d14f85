"""deadline_extension: 延期申请 — a task holder asks for more working days, a supervisor decides

Revision ID: 0022_deadline_extensions
Revises: 0021_attachments
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0022_deadline_extensions'
down_revision = '0021_attachments'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deadline_extension',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opinion', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_deadline_extension_state', 'deadline_extension', ['state', 'requested_at'],
                    unique=False)
    op.create_index('ix_deadline_extension_task_id', 'deadline_extension', ['task_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_deadline_extension_task_id', table_name='deadline_extension')
    op.drop_index('ix_deadline_extension_state', table_name='deadline_extension')
    op.drop_table('deadline_extension')
