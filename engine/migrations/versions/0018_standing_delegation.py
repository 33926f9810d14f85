"""standing_delegation: a user's stand-in for a period (委托), read with the tasks

Revision ID: 0018_standing_delegation
Revises: 0017_schedule
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = '0018_standing_delegation'
down_revision = '0017_schedule'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('standing_delegation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delegator', sa.String(length=100), nullable=False),
    sa.Column('stand_in', sa.String(length=100), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('include_open', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('set_by', sa.String(length=100), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['delegator'], ['user_account.username'], ),
    sa.ForeignKeyConstraint(['stand_in'], ['user_account.username'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_standing_delegation_delegator', 'standing_delegation',
                    ['delegator', 'ends_at'], unique=False)
    op.create_index('ix_standing_delegation_stand_in', 'standing_delegation',
                    ['stand_in', 'ends_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_standing_delegation_stand_in', table_name='standing_delegation')
    op.drop_index('ix_standing_delegation_delegator', table_name='standing_delegation')
    op.drop_table('standing_delegation')
