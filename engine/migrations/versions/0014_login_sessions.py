"""login_sessions: server-side login sessions, so that a plain logout ends the session

Revision ID: 0014_login_sessions
Revises: 0013_audit_action
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_login_sessions'
down_revision = '0013_audit_action'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_session',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['username'], ['user_account.username'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_login_session_username', 'login_session', ['username'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_login_session_username', table_name='login_session')
    op.drop_table('login_session')
