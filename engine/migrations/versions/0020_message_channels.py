"""message_channel, channel_delivery, channel_cursor: messages that reach people's phones
(DingTalk and WeCom group robots, e-mail), queued and retried by the worker

Revision ID: 0020_message_channels
Revises: 0019_audit_checkpoint
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0020_message_channels'
down_revision = '0019_audit_checkpoint'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('message_channel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('target', sa.String(length=1000), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=True),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['username'], ['user_account.username'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_message_channel_username', 'message_channel', ['username'], unique=False)
    op.create_table('channel_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['message_channel.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_channel_delivery_due', 'channel_delivery', ['status', 'next_attempt_at'],
                    unique=False)
    op.create_table('channel_cursor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('channel_cursor')
    op.drop_index('ix_channel_delivery_due', table_name='channel_delivery')
    op.drop_table('channel_delivery')
    op.drop_index('ix_message_channel_username', table_name='message_channel')
    op.drop_table('message_channel')
