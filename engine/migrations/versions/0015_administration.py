"""administration: one-time passwords, inactive units, sub-command posts, import previews

Revision ID: 0015_administration
Revises: 0014_login_sessions
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_administration'
down_revision = '0014_login_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table('org_unit') as batch:
        batch.add_column(sa.Column('active', sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
    op.create_table('org_post',
    sa.Column('unit_code', sa.String(length=50), nullable=False),
    sa.Column('post', sa.String(length=20), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['unit_code'], ['org_unit.code'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['username'], ['user_account.username'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('unit_code', 'post')
    )
    op.create_index('ix_org_post_username', 'org_post', ['username'], unique=False)
    op.create_table('import_batch',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_import_batch_created_at', 'import_batch', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_import_batch_created_at', table_name='import_batch')
    op.drop_table('import_batch')
    op.drop_index('ix_org_post_username', table_name='org_post')
    op.drop_table('org_post')
    with op.batch_alter_table('org_unit') as batch:
        batch.drop_column('active')
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('must_change_password')
