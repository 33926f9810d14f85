"""The command board's projections (issue 20), each filled by one set-based statement:
field_investment, each field's planned and reported investment per month summed over its
projects (the monthly bulletin's investment to date), and field_plates, how many of a field's
projects got each plate in a month, on the battle map and off it (挂图作战's and the
bulletin's counts); and the indexes the bulletin names a month's plates of a colour by and
counts each field's stages by

Revision ID: 0032_board_projections
Revises: 0031_stats_text_index
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0032_board_projections'
down_revision = '0031_stats_text_index'
branch_labels = None
depends_on = '0008_command_board'


def upgrade() -> None:
    op.create_table('field_investment',
    sa.Column('sub_command', sa.String(length=50), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('planned', sa.Integer(), server_default='0', nullable=False),
    sa.Column('actual', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('sub_command', 'month')
    )
    # the back-fill, as engine/county/field_months.py rebuild does it
    op.execute("""
        INSERT INTO field_investment (sub_command, month, planned, actual)
        SELECT p.sub_command, m.month, SUM(m.planned), SUM(m.actual)
        FROM (SELECT project_code, month, planned_investment AS planned, 0 AS actual
                FROM project_schedule
              UNION ALL
              SELECT project_code, month, 0 AS planned, actual_investment AS actual
                FROM project_progress) AS m
        JOIN project AS p ON p.code = m.project_code
        GROUP BY p.sub_command, m.month""")
    op.create_table('field_plates',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('sub_command', sa.String(length=50), nullable=False),
    sa.Column('on_map', sa.Boolean(), nullable=False),
    sa.Column('plate', sa.String(length=20), nullable=False),
    sa.Column('projects', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('month', 'sub_command', 'on_map', 'plate')
    )
    # as engine/county/field_months.py rebuild does it (projects.on_battle_map in SQL)
    op.execute("""
        INSERT INTO field_plates (month, sub_command, on_map, plate, projects)
        SELECT pp.month, p.sub_command, (p.key_level <> 'none' OR p.funding = 'government'),
               pp.plate, COUNT(*)
        FROM project_plate AS pp JOIN project AS p ON p.code = pp.project_code
        WHERE pp.plate IS NOT NULL
        GROUP BY pp.month, p.sub_command,
                 (p.key_level <> 'none' OR p.funding = 'government'), pp.plate""")
    op.create_index('ix_project_plate_month_plate', 'project_plate',
                    ['month', 'plate', 'project_code'], unique=False)
    op.create_index('ix_project_field_cover', 'project',
                    ['sub_command', 'stage', 'key_level', 'funding'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_project_field_cover', table_name='project')
    op.drop_index('ix_project_plate_month_plate', table_name='project_plate')
    op.drop_table('field_plates')
    op.drop_table('field_investment')
