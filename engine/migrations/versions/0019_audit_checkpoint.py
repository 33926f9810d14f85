"""audit_checkpoint: signed checkpoints of the audit chain (the head's sequence and hash, signed)

Revision ID: 0019_audit_checkpoint
Revises: 0018_standing_delegation
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0019_audit_checkpoint'
down_revision = '0018_standing_delegation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('signature', sa.String(length=100), nullable=False),
    sa.Column('exported_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_checkpoint_seq', 'audit_checkpoint', ['seq'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_checkpoint_seq', table_name='audit_checkpoint')
    op.drop_table('audit_checkpoint')
