"""accounts: session generation, password change time, login throttling

Revision ID: 0010_accounts
Revises: 0005
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_accounts'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('session_generation', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('password_changed_at', sa.DateTime(timezone=True),
                                   nullable=True))
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=250), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('first_failure_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('login_throttle')
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('password_changed_at')
        batch.drop_column('session_generation')
