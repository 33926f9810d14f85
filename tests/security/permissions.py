"""ONE table: every page and API endpoint × every role (and another unit's object).

Rows are (endpoint, method) → the outcome for each role, in the order of `walk.ROLES`:
anon, specialist (zhuanyuan1 of fgj, the objects' owner unit), approver (fgj), supervisor,
township head (t_magedang), designer, admin, other_unit (a specialist of another unit,
sc_culture), company (the project unit co_culture), sub_commander (the field sc_culture).
A route that shows one project has a row per project of the world (walk.PROJECTS), keyed
(endpoint, method, code): a company sees its own project only, a sub-commander the field's,
the oversight roles the county, a department or township the projects it leads or hosts, a
specialist (the person, not a token) the projects he or she serves.

Outcomes: `ok` served; `bad` let through the gate but refused for the (empty) data or the
state the world is in; `login` sent to log in (302 to /auth/login, or 401 under /api);
`deny` 403 or 404 (an object one may not see is "not found", so ids cannot be probed).
The walk is one pass in table order on one world (GETs first, then the changing methods),
so a changing row sees what earlier rows did. A new route without a row fails the walk.
"""

from __future__ import annotations

ROLES = ("anon", "specialist", "approver", "supervisor", "township", "designer", "admin",
         "other_unit", "company", "sub_commander")

#                                                         anon  spec  appr  sup   town  des   admin other co    subc
_ROWS: dict[tuple[str, ...], str] = {
    ("index", "GET"):                                    "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("api-docs.openapi_swagger_ui", "GET"):              "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("api_admin.Tokens", "GET"):                         "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("api_admin.Webhooks", "GET"):                       "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("api_admin.Deliveries", "GET"):                     "login deny  deny  deny  deny  deny  deny  deny  deny  deny",
    ("api_definitions.Definitions", "GET"):              "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("api_definitions.Versions", "GET"):                 "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("api_instances.Instances", "GET"):                  "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("api_instances.Instance", "GET"):                   "login ok    deny  ok    deny  deny  ok    ok    deny  deny",
    # 附件 download: those who may read the instance the file is bound to
    ("api_attachments.OneAttachment", "GET"):            "login ok    deny  ok    deny  deny  ok    ok    deny  deny",
    ("api_issues.Issues", "GET"):                        "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("api_issues.Issue", "GET"):                         "login deny  deny  ok    ok    deny  ok    deny  deny  ok",
    ("api_issues.Supervision", "GET"):                   "login deny  deny  ok    ok    deny  ok    deny  deny  ok",
    ("api-docs.openapi_json", "GET"):                    "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("api_projects.Projects", "GET"):                    "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("api_projects.OneProject", "GET", "XM-2026-006"):   "login ok    ok    ok    ok    ok    ok    deny  ok    ok",
    ("api_projects.OneProject", "GET", "XM-2026-007"):   "login deny  deny  ok    deny  deny  ok    deny  deny  ok",
    ("api_projects.OneProject", "GET", "XM-2026-008"):   "login deny  deny  ok    deny  deny  ok    deny  deny  deny",
    ("api_tasks.Tasks", "GET"):                          "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("api_tasks.Task", "GET"):                           "login ok    deny  ok    deny  deny  deny  ok    deny  deny",
    ("auth.login", "GET"):                               "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("auth.change_password", "GET"):                     "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    # 委托: one's own stand-in; setting it for someone away is for administrators
    ("delegation.mine", "GET"):                          "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("delegation.admin", "GET"):                         "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("designer.index", "GET"):                           "login deny  deny  deny  deny  ok    ok    deny  deny  deny",
    ("designer.definition", "GET"):                      "login deny  deny  deny  deny  ok    ok    deny  deny  deny",
    ("designer.diff", "GET"):                            "login deny  deny  deny  deny  bad   bad   deny  deny  deny",
    ("designer.edit", "GET"):                            "login deny  deny  deny  deny  ok    ok    deny  deny  deny",
    ("designer.migrate", "GET"):                         "login deny  deny  deny  deny  bad   bad   deny  deny  deny",
    ("designer.download", "GET"):                        "login deny  deny  deny  deny  ok    ok    deny  deny  deny",
    ("designer.version", "GET"):                         "login deny  deny  deny  deny  ok    ok    deny  deny  deny",
    ("designer.dry_run_page", "GET"):                    "login deny  deny  deny  deny  ok    ok    deny  deny  deny",
    ("designer.instance", "GET"):                        "login deny  deny  deny  deny  ok    ok    deny  deny  deny",
    ("designer.new", "GET"):                             "login deny  deny  deny  deny  ok    ok    deny  deny  deny",
    ("schedule.index", "GET"):                           "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    # 故障: open incidents, for designers and administrators
    ("incidents.index", "GET"):                          "login deny  deny  deny  deny  ok    ok    deny  deny  deny",
    ("favicon", "GET"):                                  "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("set_language", "GET"):                             "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("notifications.index", "GET"):                      "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("processes.index", "GET"):                          "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("processes.start", "GET"):                          "login ok    deny  deny  deny  deny  deny  ok    deny  deny",
    # the starter, those with a task in it (the API's rule), and oversight see who acts next
    ("processes.instance", "GET"):                       "login ok    deny  ok    deny  deny  ok    ok    deny  deny",
    ("instances_admin.index", "GET"):                    "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("instances_admin.act", "POST"):                     "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("extensions.pending", "GET"):                       "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    # a holder's empty request is sent back to the task page with the reason (302)
    ("extensions.ask", "POST"):                          "login ok    deny  ok    deny  deny  deny  ok    deny  deny",
    ("extensions.decide", "POST"):                       "login deny  deny  deny  deny  deny  deny  deny  deny  deny",
    ("bulk.run", "POST"):                                "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("channels.index", "GET"):                           "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("channels.add", "POST"):                            "login bad   bad   bad   bad   bad   bad   bad   bad   bad",
    # the walk takes routes in URL order: …/remove (the owner's ok) comes before …/test
    ("channels.test", "POST"):                           "login deny  deny  deny  deny  deny  deny  deny  deny  deny",
    ("channels.remove", "POST"):                         "login ok    deny  deny  deny  deny  deny  deny  deny  deny",
    ("search.index", "GET"):                             "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("statistics.index", "GET"):                         "login deny  deny  ok    deny  ok    ok    deny  deny  ok",
    ("statistics.export", "GET"):                        "login deny  deny  ok    deny  ok    ok    deny  deny  ok",
    ("approval_sheets.sheet", "GET"):                    "login ok    deny  ok    deny  deny  ok    ok    deny  deny",
    ("approval_sheets.sheet_pdf", "GET"):                "login ok    deny  ok    deny  deny  ok    ok    deny  deny",
    # 附件: a file bound to the instance, for those who may read the instance (the sheet's rule)
    ("attachments.download", "GET"):                     "login ok    deny  ok    deny  deny  ok    ok    deny  deny",
    ("processes.started", "GET"):                        "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("static", "GET"):                                   "ok    ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("supervision.board", "GET"):                        "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("supervision.desk_13710", "GET"):                   "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("supervision.county_head", "GET"):                  "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("supervision.issue", "GET"):                        "login deny  deny  ok    ok    deny  ok    deny  deny  ok",
    ("supervision.ledger", "GET"):                       "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("supervision.ledger_xlsx", "GET"):                  "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("supervision.county_head_xlsx", "GET"):             "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("supervision.board_xlsx", "GET"):                   "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("tasks.mine", "GET"):                               "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("tasks.show", "GET"):                               "login ok    deny  ok    deny  deny  deny  ok    deny  deny",
    ("tasks.diagram_xml", "GET"):                        "login ok    deny  ok    deny  deny  deny  ok    deny  deny",
    ("tasks.copied", "GET"):                             "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("tasks.done", "GET"):                               "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("tasks.group", "GET"):                              "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("api_admin.Tokens", "POST"):                        "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("api_admin.Token", "DELETE"):                       "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("api_admin.Webhooks", "POST"):                      "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("api_admin.Webhook", "DELETE"):                     "login deny  deny  deny  deny  deny  deny  deny  deny  deny",
    ("api_definitions.Definitions", "POST"):             "login deny  deny  deny  deny  bad   bad   deny  deny  deny",
    # 附件 upload: anyone signed in keeps a file for a form (an empty request is refused)
    ("api_attachments.Attachments", "POST"):             "login bad   bad   bad   bad   bad   bad   bad   bad   bad",
    ("api_instances.Instances", "POST"):                 "login bad   bad   bad   bad   bad   bad   bad   bad   bad",
    ("api_instances.Cancel", "POST"):                    "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    # 问题登记: the issue process's candidate starters (specialists, supervisors, township and
    # department heads, sub-commanders, the office); the walk sends no body, so "bad"
    ("api_issues.Issues", "POST"):                       "login bad   deny  bad   bad   deny  deny  bad   deny  bad",
    ("api_issues.Escalate", "POST"):                     "login deny  deny  bad   deny  deny  bad   deny  deny  bad",
    ("api_issues.Listing", "DELETE"):                    "login deny  deny  bad   deny  deny  bad   deny  deny  deny",
    ("api_issues.Listing", "POST"):                      "login deny  deny  bad   deny  deny  bad   deny  deny  deny",
    ("api_issues.Remind", "POST"):                       "login deny  deny  ok    deny  deny  ok    deny  deny  ok",
    ("api_messages.Message", "POST"):                    "login deny  deny  deny  deny  deny  deny  deny  deny  deny",
    ("api_signals.Signal", "POST"):                      "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("api_tasks.task_add_signer_after", "POST"):         "login bad   deny  deny  deny  deny  deny  bad   deny  deny",
    ("api_tasks.task_add_signer_before", "POST"):        "login bad   deny  deny  deny  deny  deny  bad   deny  deny",
    ("api_tasks.task_carbon_copy", "POST"):              "login bad   deny  deny  deny  deny  deny  bad   deny  deny",
    ("api_tasks.task_claim", "POST"):                    "login ok    deny  bad   deny  deny  deny  bad   deny  deny",
    ("api_tasks.task_complete", "POST"):                 "login bad   deny  deny  deny  deny  deny  deny  deny  deny",
    ("api_tasks.task_delegate", "POST"):                 "login bad   deny  deny  deny  deny  deny  deny  deny  deny",
    ("api_tasks.task_resolve_delegation", "POST"):       "login deny  deny  deny  deny  deny  deny  deny  deny  deny",
    ("api_tasks.task_return_task", "POST"):              "login bad   deny  deny  deny  deny  deny  deny  deny  deny",
    ("api_tasks.task_transfer", "POST"):                 "login bad   deny  deny  deny  deny  deny  deny  deny  deny",
    ("api_tasks.task_unclaim", "POST"):                  "login ok    deny  bad   deny  deny  deny  bad   deny  deny",
    ("api_tasks.task_withdraw", "POST"):                 "login bad   deny  bad   deny  deny  deny  bad   deny  deny",
    ("auth.login", "POST"):                              "login login login login throttled throttled throttled throttled throttled throttled",
    ("auth.logout", "POST"):                             "login login login login login login login login login login",
    ("auth.logout_everywhere", "POST"):                  "login login login login login login login login login login",
    ("auth.change_password", "POST"):                    "login bad   bad   bad   bad   bad   bad   bad   bad   bad",
    ("delegation.set_mine", "POST"):                     "login bad   bad   bad   bad   bad   bad   bad   bad   bad",
    ("delegation.end_mine", "POST"):                     "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("delegation.admin_set", "POST"):                    "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("delegation.admin_end", "POST"):                    "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("designer.migrate", "POST"):                        "login deny  deny  deny  deny  bad   bad   deny  deny  deny",
    ("designer.rollback", "POST"):                       "login deny  deny  deny  deny  deny  deny  deny  deny  deny",
    ("designer.dry_run_page", "POST"):                   "login deny  deny  deny  deny  ok    ok    deny  deny  deny",
    ("designer.deploy", "POST"):                         "login deny  deny  deny  deny  bad   bad   deny  deny  deny",
    ("designer.retry", "POST"):                          "login deny  deny  deny  deny  deny  deny  deny  deny  deny",
    ("incidents.resolve", "POST"):                       "login deny  deny  deny  deny  bad   bad   deny  deny  deny",
    ("incidents.retry_timer", "POST"):                   "login deny  deny  deny  deny  deny  deny  deny  deny  deny",
    ("designer.validate", "POST"):                       "login deny  deny  deny  deny  bad   bad   deny  deny  deny",
    ("designer.rehearse", "POST"):                       "login deny  deny  deny  deny  bad   bad   deny  deny  deny",
    ("notifications.read", "POST"):                      "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("notifications.read_all", "POST"):                  "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("processes.start", "POST"):                         "login bad   deny  deny  deny  deny  deny  bad   deny  deny",
    ("schedule.run_now", "POST"):                        "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("supervision.escalate", "POST"):                    "login bad   bad   bad   bad   bad   bad   bad   bad   bad",
    ("supervision.lift", "POST"):                        "login bad   bad   bad   bad   bad   bad   bad   bad   bad",
    ("supervision.list_issue", "POST"):                  "login bad   bad   bad   bad   bad   bad   bad   bad   bad",
    ("supervision.remind", "POST"):                      "login deny  deny  deny  deny  deny  deny  deny  deny  deny",
    ("supervision.remind_many", "POST"):                 "login deny  deny  bad   deny  deny  bad   deny  deny  bad",
    ("tasks.carbon_copy", "POST"):                       "login bad   deny  deny  deny  deny  deny  bad   deny  deny",
    ("tasks.claim", "POST"):                             "login ok    deny  bad   deny  deny  deny  bad   deny  deny",
    ("tasks.complete", "POST"):                          "login bad   deny  deny  deny  deny  deny  deny  deny  deny",
    ("tasks.delegate", "POST"):                          "login bad   deny  deny  deny  deny  deny  deny  deny  deny",
    ("tasks.remind", "POST"):                            "login deny  deny  ok    deny  deny  deny  deny  deny  deny",
    ("tasks.resolve", "POST"):                           "login deny  deny  deny  deny  deny  deny  deny  deny  deny",
    ("tasks.return_to", "POST"):                         "login bad   deny  bad   deny  deny  deny  bad   deny  deny",
    ("tasks.sign_after", "POST"):                        "login bad   deny  deny  deny  deny  deny  deny  deny  deny",
    ("tasks.sign_before", "POST"):                       "login bad   deny  deny  deny  deny  deny  deny  deny  deny",
    ("tasks.transfer", "POST"):                          "login bad   deny  deny  deny  deny  deny  deny  deny  deny",
    ("tasks.unclaim", "POST"):                           "login ok    deny  bad   deny  deny  deny  bad   deny  deny",
    ("tasks.withdraw", "POST"):                          "login ok    deny  ok    deny  deny  deny  ok    deny  deny",
    # 挂图作战: the map lists the projects in scope (ON_THE_MAP); a sheet out of scope is not
    # found; the headquarters' papers (agenda, assessment, awards, bulletin, dispatch) are for
    # the oversight roles and the commanders only (engine/county/policy.py)
    ("battle_map.battle_map", "GET"):                    "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("battle_map.project", "GET", "XM-2026-006"):        "login ok    ok    ok    ok    ok    ok    deny  ok    ok",
    ("battle_map.project", "GET", "XM-2026-007"):        "login ok    deny  ok    deny  deny  ok    deny  deny  ok",
    ("battle_map.project", "GET", "XM-2026-008"):        "login deny  deny  ok    deny  deny  ok    deny  deny  deny",
    ("battle_map.agenda_page", "GET"):                   "login deny  deny  ok    deny  deny  ok    deny  deny  ok",
    ("battle_map.record_decision", "POST"):              "login deny  deny  deny  deny  deny  deny  deny  deny  deny",
    ("battle_map.assessment_page", "GET"):               "login deny  deny  ok    deny  deny  ok    deny  deny  ok",
    ("battle_map.awards_page", "GET"):                   "login deny  deny  ok    deny  deny  ok    deny  deny  ok",
    ("battle_map.bulletin_page", "GET"):                 "login deny  deny  ok    deny  deny  ok    deny  deny  ok",
    ("battle_map.dispatch_page", "GET"):                 "login deny  deny  ok    deny  deny  ok    deny  deny  ok",
    # 项目库: the list (scoped) for everyone; registering, editing, stage moves and the import
    # for those who keep the registry — administrators (and the office) anywhere, the
    # sub-commander in the field (sc_culture: XM-2026-006 and 007); a project one sees but
    # does not keep is forbidden, one out of scope not found. The walk posts empty forms and
    # bodies ("bad"), and a PATCH without a body changes nothing ("ok")
    ("projects.index", "GET"):                           "login ok    ok    ok    ok    ok    ok    ok    ok    ok",
    ("projects.new", "GET"):                             "login deny  deny  deny  deny  deny  ok    deny  deny  ok",
    ("projects.new", "POST"):                            "login deny  deny  deny  deny  deny  bad   deny  deny  bad",
    ("projects.edit", "GET", "XM-2026-006"):             "login deny  deny  deny  deny  deny  ok    deny  deny  ok",
    ("projects.edit", "GET", "XM-2026-007"):             "login deny  deny  deny  deny  deny  ok    deny  deny  ok",
    ("projects.edit", "GET", "XM-2026-008"):             "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    # 催办 a project: oversight and the field's sub-commander, on projects they see
    ("battle_map.remind_project", "POST", "XM-2026-006"): "login deny  deny  ok    deny  deny  ok    deny  deny  ok",
    ("battle_map.remind_project", "POST", "XM-2026-008"): "login deny  deny  ok    deny  deny  ok    deny  deny  deny",
    ("projects.edit", "POST", "XM-2026-006"):            "login deny  deny  deny  deny  deny  bad   deny  deny  bad",
    ("projects.edit", "POST", "XM-2026-008"):            "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("projects.stage", "GET", "XM-2026-006"):            "login deny  deny  deny  deny  deny  ok    deny  deny  ok",
    ("projects.stage", "GET", "XM-2026-007"):            "login deny  deny  deny  deny  deny  ok    deny  deny  ok",
    ("projects.stage", "GET", "XM-2026-008"):            "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("projects.stage", "POST", "XM-2026-006"):           "login deny  deny  deny  deny  deny  bad   deny  deny  bad",
    ("projects.stage", "POST", "XM-2026-008"):           "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("projects.template", "GET"):                        "login deny  deny  deny  deny  deny  ok    deny  deny  ok",
    ("projects.import_projects", "GET"):                 "login deny  deny  deny  deny  deny  ok    deny  deny  ok",
    ("projects.import_projects", "POST"):                "login deny  deny  deny  deny  deny  bad   deny  deny  bad",
    ("projects.confirm_import", "POST"):                 "login deny  deny  deny  deny  deny  bad   deny  deny  bad",
    ("api_projects.Projects", "POST"):                   "login deny  deny  deny  deny  deny  bad   deny  deny  bad",
    ("api_projects.OneProject", "PATCH", "XM-2026-006"): "login deny  deny  deny  deny  deny  ok    deny  deny  ok",
    ("api_projects.OneProject", "PATCH", "XM-2026-007"): "login deny  deny  deny  deny  deny  ok    deny  deny  ok",
    ("api_projects.OneProject", "PATCH", "XM-2026-008"): "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("api_projects.Stage", "POST", "XM-2026-006"):       "login deny  deny  deny  deny  deny  bad   deny  deny  bad",
    ("api_projects.Stage", "POST", "XM-2026-008"):       "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    # 查账: audit trails for the oversight roles, and for a sub-commander the field's; everyone
    # else finds nothing
    ("audit_trails.project", "GET", "XM-2026-006"):      "login deny  deny  ok    deny  deny  ok    deny  deny  ok",
    ("audit_trails.project", "GET", "XM-2026-007"):      "login deny  deny  ok    deny  deny  ok    deny  deny  ok",
    ("audit_trails.project", "GET", "XM-2026-008"):      "login deny  deny  ok    deny  deny  ok    deny  deny  deny",
    ("audit_trails.instance", "GET"):                    "login deny  deny  ok    deny  deny  ok    deny  deny  deny",
    # 系统管理: the organisation and its accounts, administrators only (the walk's <username>
    # is zhuanyuan2, whom no role logs in as; <unit_code> wlj; <batch_id> a preview that is not)
    ("admin.index", "GET"):                              "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("admin.units", "GET"):                              "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("admin.unit", "GET"):                               "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("admin.accounts", "GET"):                           "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("admin.account", "GET"):                            "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("admin.account_new", "GET"):                        "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("admin.disable", "GET"):                            "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("admin.import_page", "GET"):                        "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("admin.template", "GET"):                           "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("admin.preview", "GET"):                            "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("admin.log", "GET"):                                "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("api_org.Units", "GET"):                            "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("api_org.Unit", "GET"):                             "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("api_org.Accounts", "GET"):                         "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("api_org.Account", "GET"):                          "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("api_org.Work", "GET"):                             "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("admin.units", "POST"):                             "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("admin.unit", "POST"):                              "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("admin.unit_posts", "POST"):                        "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("admin.unit_active", "POST"):                       "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("admin.account", "POST"):                           "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("admin.account_new", "POST"):                       "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("admin.reset_password", "POST"):                    "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("admin.disable", "POST"):                           "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("admin.enable", "POST"):                            "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("admin.upload", "POST"):                            "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("admin.confirm", "POST"):                           "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("api_org.Units", "POST"):                           "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("api_org.Unit", "PATCH"):                           "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("api_org.Accounts", "POST"):                        "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("api_org.Account", "PATCH"):                        "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("api_org.PasswordReset", "POST"):                   "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
    ("api_org.Disable", "POST"):                         "login deny  deny  deny  deny  deny  bad   deny  deny  deny",
    ("api_org.Enable", "POST"):                          "login deny  deny  deny  deny  deny  ok    deny  deny  deny",
}
TABLE: dict[tuple[str, ...], tuple[str, ...]] = {key: tuple(row.split())
                                                 for key, row in _ROWS.items()}

# The projects each role finds on the battle map (pages, as the person) and in
# GET /api/v1/projects (as a token of the same roles and unit: a token is not the specialist
# person, so it does not see the project zhuanyuan1 serves).
_COUNTY = {"XM-2026-006", "XM-2026-007", "XM-2026-008"}
ON_THE_MAP: dict[str, set[str]] = {
    "specialist": {"XM-2026-006", "XM-2026-007"}, "approver": {"XM-2026-006"},
    "supervisor": _COUNTY, "township": {"XM-2026-006"}, "designer": {"XM-2026-006"},
    "admin": _COUNTY, "other_unit": set(), "company": {"XM-2026-006"},
    "sub_commander": {"XM-2026-006", "XM-2026-007"},
}
IN_THE_API: dict[str, set[str]] = {**ON_THE_MAP, "specialist": {"XM-2026-006"}}
