"""The knowledge base of a fictional software company: the parts its instances are made from.

Pure data, read by ``generate.py``. Nothing a question names or asks for is listed here: the
company, its product families and products, regions, offices, people, teams, settings and every
figure are invented per instance from the parts below (syllables, word lists, wide numeric ranges),
so the names and answers of one instance never carry over to another. What is fixed is the shape:
the topics, the sections of each page, how a page states a fact (statement templates) and how an
employee asks for it (question templates, worded apart from the statements on purpose: questions
that copy the page would make lexical matching enough). Placeholders: ``{company}``,
``{product}``, ``{things}`` (what the product family handles), ``{value}`` (the fact, exactly the
gold answer), ``{region}`` and ``{where}`` (the region or one of its offices), ``{code}`` and
``{symptom}`` (support articles).
"""

from __future__ import annotations

from dataclasses import dataclass

# --- invented names -----------------------------------------------------------------------------

# A word is two or three syllables (onset + vowel), the last with a coda: about 10^6 two-syllable
# and 10^8 three-syllable words, so a name drawn for one instance is almost never drawn for another.
ONSETS = ("b", "br", "c", "ch", "d", "dr", "f", "fr", "g", "gl", "gr", "h", "j", "k", "kr", "l",
          "m", "n", "p", "pl", "pr", "r", "s", "sk", "sl", "st", "t", "tr", "v", "w", "z", "th",
          "sh", "qu")
VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o", "ai", "ei", "ou", "ia", "y")
CODAS = ("", "", "", "n", "r", "l", "s", "m", "nd", "rk", "st", "th", "x", "ll", "v", "k", "sh")

COMPANY_SUFFIXES = ("Works", "Systems", "Labs", "Software", "Technologies", "Group", "Digital",
                    "Industries", "Networks", "Dynamics", "Solutions", "Interactive")
PLACE_SUFFIXES = ("", "", "", "ford", "ton", "burg", "haven", "port", "by", "wick", "stad",
                  "mouth", "field", "vale")
SURNAME_SUFFIXES = ("", "", "", "", "son", "sen", "ez", "ova", "ski", "ard", "ini", "ani", "ley")

# What a product family handles, and the team that owns its guides; an instance uses 8 of them.
DOMAINS = (
    ("messages", "Messaging Docs"), ("reports", "Analytics Docs"),
    ("documents", "Content Docs"), ("snapshots", "Storage Docs"),
    ("user accounts", "Identity Docs"), ("schedules", "Workplace Docs"),
    ("invoices", "Finance Docs"), ("alerts", "Observability Docs"),
    ("tickets", "Service Docs"), ("tasks", "Productivity Docs"),
    ("contracts", "Legal Docs"), ("designs", "Creative Docs"),
    ("orders", "Commerce Docs"), ("surveys", "Research Docs"),
)
FAMILY_COUNT = 8
REGION_COUNT = 3  # 3 regions x 34 policy facts: enough for the dev and hidden policy questions
OFFICES_PER_REGION = 3

# The second word of a product's name ("<family> <edition>"); siblings draw three different ones.
EDITIONS = (
    "Cloud", "Edge", "Self-Hosted", "Studio", "Embedded", "Wiki", "Forms", "Vault", "Archive",
    "Directory", "Guard", "Rooms", "Shifts", "Payments", "Payroll", "Logs", "Traces", "Uptime",
    "Analytics", "Lite", "Mobile", "Desktop", "Server", "Connect", "Insights", "Hub", "Flow",
    "Desk", "Sync", "Notes", "Mail", "Chat", "Portal", "Gateway", "Monitor", "Planner", "Capture",
    "Pulse", "Beacon", "Forge", "Lens", "Bridge", "Point", "Core", "Suite", "Stream", "Signal",
    "Atlas", "Relay", "Harbor", "Pilot", "Scout", "Ledger", "Canvas", "Compass", "Anchor",
)

# Teams an article escalates to or a restore is handled by: "[Tier 2 ]<area> <function>", or an
# invented name with a function ("Vornak Escalations").
TEAM_AREAS = (
    "Platform", "Payments", "Identity", "Data", "Customer", "Integrations", "Storage", "Billing",
    "Edge", "Workspace", "Security", "Release", "Network", "Mobile", "Search", "Messaging",
    "Infrastructure", "Database", "API", "Compliance", "Sync", "Reporting", "Onboarding",
    "Migration", "Desktop", "Partner", "Account", "Automation", "Backup", "Directory",
)
TEAM_FUNCTIONS = (
    "Support", "Escalations", "Engineering", "Operations", "Reliability", "Response",
    "Integrity", "Services", "Specialists", "Recovery", "Care", "Desk", "Squad", "Duty",
)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# name -> (format, lowest, highest, step): the value is a draw from the range, printed with the
# format; it is the gold answer exactly as the page prints it. Ranges are wide on purpose: a figure
# of one instance says nothing about another's. Kinds not listed are drawn by the generator:
# person, team, setting (from the article's own parts), uptime, maintenance. Dollar amounts and bare
# counts start at 10: the answer metrics normalise "$5" to "5", which an archived page's revision
# number would state.
VALUE_KINDS: dict[str, tuple[str, int, int, int]] = {
    "rate": ("{:,} requests per minute", 60, 30000, 10),
    "upload_mb": ("{} MB", 10, 4000, 5),
    "storage_gb": ("{} GB", 2, 1000, 1),
    "trash_days": ("{} days", 7, 180, 1),
    "retention_days": ("{} days", 30, 3650, 5),
    "purge_days": ("{} days", 7, 365, 1),
    "link_hours": ("{} hours", 2, 336, 1),
    "idle_minutes": ("{} minutes", 5, 480, 1),
    "lockout": ("{} failed attempts", 3, 40, 1),
    "key_days": ("{} days", 14, 730, 1),
    "grace_days": ("{} days", 2, 90, 1),
    "timeout_seconds": ("{} seconds", 3, 180, 1),
    "retries": ("{} times", 2, 60, 1),
    "window_hours": ("{} hours", 2, 240, 1),
    "endpoints": ("{} endpoints", 3, 800, 1),
    "trial_days": ("{} days", 5, 120, 1),
    "seat_price": ("${}", 10, 250, 1),
    "refund_days": ("{} days", 5, 180, 1),
    "net_days": ("{} days", 7, 120, 1),
    "sev1_minutes": ("{} minutes", 5, 180, 1),
    "sev2_hours": ("{} hours", 1, 72, 1),
    "backup_hours": ("{} hours", 1, 72, 1),
    "backup_days": ("{} days", 7, 730, 1),
    "rto_hours": ("{} hours", 1, 120, 1),
    # policies
    "expense_days": ("{} days", 7, 180, 1),
    "meal_usd": ("${}", 20, 300, 1),
    "hotel_usd": ("${}", 80, 900, 5),
    "receipt_usd": ("${}", 10, 250, 1),
    "lead_days": ("{} days", 3, 90, 1),
    "stipend_usd": ("${:,}", 200, 6000, 10),
    "monthly_usd": ("${}", 10, 500, 1),
    "refresh_months": ("{} months", 12, 84, 1),
    "leave_days": ("{} days", 12, 45, 1),
    "carry_days": ("{} days", 1, 25, 1),
    "notice_weeks": ("{} weeks", 1, 20, 1),
    "parental_weeks": ("{} weeks", 6, 60, 1),
    "sick_days": ("{} days", 1, 20, 1),
    "budget_usd": ("${:,}", 300, 12000, 50),
    "conference_days": ("{} days", 1, 20, 1),
    "repay_months": ("{} months", 3, 60, 1),
    "threshold_usd": ("${:,}", 200, 60000, 50),
    "quotes_usd": ("${:,}", 5000, 900000, 500),
    "password_chars": ("{} characters", 8, 40, 1),
    "lock_minutes": ("{} minutes", 1, 45, 1),
    "report_hours": ("{} hours", 1, 96, 1),
    "oncall_usd": ("${}", 50, 2000, 5),
    "ack_minutes": ("{} minutes", 2, 90, 1),
    "oncall_weeks": ("{} weeks", 1, 10, 1),
    "rest_hours": ("{} hours", 6, 72, 1),
    "gift_usd": ("${}", 10, 800, 5),
    "register_days": ("{} days", 1, 60, 1),
    # support articles
    "fix_seconds": ("{} seconds", 10, 3600, 5),
    "fix_minutes": ("{} minutes", 2, 360, 1),
    "fix_mb": ("{} MB", 16, 16384, 16),
    "fix_count": ("{}", 10, 400, 1),
}
DRAWN_KINDS = frozenset({"person", "team", "setting", "uptime", "maintenance"})


@dataclass(frozen=True)
class FactSpec:
    key: str
    kind: str
    statements: tuple[str, ...]
    questions: tuple[str, ...]


@dataclass(frozen=True)
class SectionSpec:
    headings: tuple[str, ...]  # alternatives; the family picks one
    facts: tuple[FactSpec, ...]
    filler: tuple[str, ...]  # sentences on the same subject that state no value


@dataclass(frozen=True)
class TopicSpec:
    key: str
    title: str
    summary: tuple[str, ...]  # overview sentences
    sections: tuple[SectionSpec, ...]
    howto_titles: tuple[str, ...]
    howto: tuple[str, ...]  # step-by-step sentences that name the subject but state no value
    release_items: tuple[str, ...]  # release-note bullet points, no values


def F(key: str, kind: str, statements: tuple[str, ...], questions: tuple[str, ...]) -> FactSpec:
    return FactSpec(key, kind, statements, questions)


def S(headings: tuple[str, ...], facts: tuple[FactSpec, ...], filler: tuple[str, ...]
      ) -> SectionSpec:
    return SectionSpec(headings, facts, filler)


# --- product guides -----------------------------------------------------------------------------

PRODUCT_TOPICS = (
    TopicSpec(
        "limits", "Limits and quotas",
        ("This page lists the usage limits that apply to every {product} workspace.",
         "Limits protect shared infrastructure and keep response times predictable for all "
         "customers.",
         "Limits are enforced per workspace unless a section says otherwise.",
         "If a limit blocks a legitimate use case, your account team can review it."),
        (
            S(("API rate limits", "Request throttling", "Calling the API"),
              (F("rate_standard", "rate",
                 ("Workspaces on the Standard plan can make up to {value} to the {product} API.",
                  "On the Standard plan, the {product} API accepts at most {value} per "
                  "workspace."),
                 ("How many API calls can a Standard-plan customer make to {product} before "
                  "getting throttled?",
                  "What is the throughput cap for {product} integrations on a Standard "
                  "subscription?",
                  "A Standard tier customer keeps hitting 429s in {product}: what request "
                  "budget do they have?")),
               F("rate_enterprise", "rate",
                 ("Enterprise workspaces are allowed {value} before {product} starts rejecting "
                  "calls.",
                  "The ceiling for Enterprise workspaces is {value}."),
                 ("What's the highest call volume {product} tolerates for an Enterprise "
                  "account?",
                  "For Enterprise customers of {product}, how fast can scripts hit the API "
                  "before being slowed down?"))),
              ("Requests above the limit receive HTTP 429 with a Retry-After header.",
               "Limits are counted over a sliding sixty-second window.",
               "Batch endpoints count as a single request regardless of how many {things} "
               "they carry.",
               "Well-behaved clients back off exponentially when they are throttled.")),
            S(("File and payload sizes", "Uploads", "Attachment limits"),
              (F("max_upload", "upload_mb",
                 ("A single upload to {product} can be at most {value}.",
                  "{product} rejects any file larger than {value}."),
                 ("What's the biggest file someone can attach in {product}?",
                  "Is there a maximum size for files pushed into {product}, and what is it?",
                  "How large may a single attachment be in {product}?")),),
              ("Larger files should be split or compressed before upload.",
               "Uploads that exceed the limit fail with a clear error and are not stored.",
               "The limit applies to the web app, the desktop app and the API alike.")),
            S(("Storage", "Storage quota", "Workspace storage"),
              (F("storage_seat", "storage_gb",
                 ("Every paid seat adds {value} of storage to the workspace pool.",
                  "Storage is pooled across the workspace, with {value} contributed per seat."),
                 ("How much disk space does each licence add to a {product} workspace?",
                  "When we buy one more user for {product}, how much room do we get?")),),
              ("Administrators see current usage on the Billing page.",
               "When the pool is full, new {things} cannot be created until space is freed.",
               "Deleted {things} stop counting against the quota once the trash is emptied.")),
        ),
        ("How to check your usage in {product}", "Handling throttling in {product}",
         "Requesting a limit increase for {product}"),
        ("Open the Usage dashboard from the workspace settings to see how close you are to each "
         "limit.",
         "Add retry logic with exponential backoff to every client that calls the API.",
         "Spread bulk jobs over time instead of sending every request at once.",
         "If you expect a spike, contact your account team a week in advance.",
         "Compress large files before uploading them.",
         "Usage graphs refresh every few minutes."),
        ("Rate-limit headers are now returned on every API response.",
         "Usage dashboard shows storage per seat.",
         "Clearer error message when an upload is too large."),
    ),
    TopicSpec(
        "retention", "Data retention and deletion",
        ("This page explains how long {product} keeps your data and what happens when you "
         "delete it.",
         "Retention periods are set by {company} and cannot be shortened per workspace unless "
         "noted.",
         "Backups follow their own schedule, described on the backups page."),
        (
            S(("Trash and recovery", "Restoring deleted items", "The trash"),
              (F("trash_days", "trash_days",
                 ("Deleted {things} remain in the trash for {value} before they are purged "
                  "for good.",
                  "Anything removed in {product} can be restored from the trash for {value}."),
                 ("If a teammate removes something by mistake in {product}, how long do we "
                  "have to get it back?",
                  "What is the window for undoing an accidental deletion in {product}?",
                  "How long before stuff thrown away in {product} is gone forever?")),),
              ("Only workspace administrators can empty the trash early.",
               "Restored {things} keep their original history and permissions.",
               "Purged {things} cannot be recovered by support.")),
            S(("Audit logs", "Activity history"),
              (F("audit_days", "retention_days",
                 ("Audit log entries are kept for {value}.",
                  "{product} retains the audit trail for {value}, after which entries are "
                  "dropped."),
                 ("How far back can an admin look at who did what in {product}?",
                  "For compliance reviews, how much activity history does {product} hold "
                  "on to?")),),
              ("Audit logs record sign-ins, permission changes and exports.",
               "Logs can be streamed to your own SIEM for longer storage.",
               "Audit entries cannot be edited or deleted by customers.")),
            S(("Closing an account", "Account closure", "Leaving {product}"),
              (F("purge_days", "purge_days",
                 ("When a workspace is closed, its data is erased {value} after the closure "
                  "date.",
                  "After an account is cancelled, {product} waits {value} and then permanently "
                  "erases all workspace data."),
                 ("If a customer cancels {product}, how long until their data is wiped?",
                  "How soon after closing a {product} workspace does everything get "
                  "destroyed?")),),
              ("Closing a workspace cannot be undone after the erasure date.",
               "Export your data before you close the workspace.",
               "A confirmation email is sent to every administrator.")),
            S(("Exports", "Exporting your data"),
              (F("export_link", "link_hours",
                 ("Download links for data exports expire after {value}.",
                  "Export archives stay downloadable for {value} and then the link stops "
                  "working."),
                 ("How long does the download link for a {product} export remain valid?",
                  "I generated an export from {product} yesterday; when will the link die?")),),
              ("Exports include {things}, comments and attachments.",
               "Large exports are split into several archives.")),
        ),
        ("How to restore deleted {things} in {product}", "Exporting a workspace from {product}",
         "Closing a {product} workspace"),
        ("Open the trash from the sidebar and select the {things} you want back.",
         "Choose Restore; the {things} reappear where they were.",
         "To export everything, go to Settings, then Data, then Export.",
         "You will receive an email when the export archive is ready.",
         "Make sure every administrator agrees before you close a workspace.",
         "Retention settings are visible to administrators only."),
        ("Trash now shows who deleted each item.",
         "Exports can be scheduled weekly.",
         "Audit logs include export events."),
    ),
    TopicSpec(
        "security", "Security and sign-in",
        ("This page covers how people sign in to {product} and how their access is protected.",
         "These controls apply to every plan; some can be tightened by administrators.",
         "For single sign-on setup, see the identity provider guide."),
        (
            S(("Sessions", "Session length", "Staying signed in"),
              (F("idle_timeout", "idle_minutes",
                 ("Sessions that see no activity for {value} are signed out automatically.",
                  "{product} ends an idle session after {value}."),
                 ("How long can I leave {product} open without touching it before it logs me "
                  "out?",
                  "After what period of inactivity does {product} kick a user out?",
                  "When does an untouched {product} tab force a fresh login?")),),
              ("Closing the browser does not end the session on shared devices.",
               "Administrators can sign out every user at once from the security page.",
               "Mobile sessions follow the same rule.")),
            S(("Passwords and lockout", "Failed sign-ins"),
              (F("lockout", "lockout",
                 ("Accounts are locked after {value} in a row.",
                  "{product} locks an account once it records {value} consecutively."),
                 ("How many wrong passwords can someone type into {product} before the "
                  "account is frozen?",
                  "At what point does {product} block a user who keeps guessing their "
                  "password?")),),
              ("Locked accounts are released by an administrator or after a cool-down.",
               "Passwords are checked against known breached passwords.",
               "Password rules can be tightened but not relaxed.")),
            S(("API keys", "Access tokens"),
              (F("key_expiry", "key_days",
                 ("Personal API keys expire {value} after they are created.",
                  "Every API key issued by {product} is valid for {value} and must then be "
                  "rotated."),
                 ("How often do we have to rotate {product} API credentials?",
                  "What's the lifetime of a token generated in {product}?")),),
              ("Keys can be revoked at any time from the developer settings.",
               "Each key is scoped to one workspace.",
               "Keys are shown once and never again.")),
            S(("Two-factor authentication", "Multi-factor sign-in"),
              (F("mfa_grace", "grace_days",
                 ("When an administrator enforces two-factor authentication, existing users "
                  "have {value} to enrol.",
                  "Users get a grace period of {value} to set up a second factor once it is "
                  "required."),
                 ("Once 2FA is made mandatory in {product}, how long do people have to set it "
                  "up?",
                  "What's the deadline for enrolling a second factor after an admin turns "
                  "on the requirement in {product}?")),),
              ("Authenticator apps and security keys are both supported.",
               "SMS codes are not accepted for administrators.")),
        ),
        ("How to enforce two-factor authentication in {product}",
         "Rotating API keys in {product}", "Unlocking a user in {product}"),
        ("Open the security page in the admin console.",
         "Turn on the requirement and choose which groups it applies to.",
         "Users are reminded by email until they enrol.",
         "To rotate a key, create the new key before you revoke the old one.",
         "Administrators can unlock an account from the member list.",
         "Ask the user to reset their password after an unlock."),
        ("Security page redesigned.",
         "Administrators can now see when each API key was last used.",
         "Lockout events appear in the audit log."),
    ),
    TopicSpec(
        "webhooks", "Webhooks and integrations",
        ("{product} can notify your systems when {things} change, using webhooks.",
         "This page describes delivery, retries and the limits on webhook endpoints.",
         "Every delivery is signed so you can verify it came from {company}."),
        (
            S(("Delivery", "Delivery timeouts", "How deliveries work"),
              (F("webhook_timeout", "timeout_seconds",
                 ("A delivery fails if your endpoint does not answer within {value}.",
                  "{product} waits {value} for a 2xx response before it treats the delivery as "
                  "failed."),
                 ("How long will {product} wait for my server to reply to an event "
                  "notification?",
                  "What's the response deadline for callbacks sent by {product}?",
                  "My receiver is slow; how much time does {product} give it to acknowledge "
                  "an event?")),),
              ("Deliveries are sent as HTTPS POST requests with a JSON body.",
               "Your endpoint should acknowledge quickly and do heavy work asynchronously.",
               "Deliveries may arrive out of order.")),
            S(("Retries", "Retry schedule", "Failed deliveries"),
              (F("retry_count", "retries",
                 ("Failed deliveries are retried up to {value} with exponential backoff.",
                  "{product} tries a failed delivery again as many as {value}."),
                 ("If my endpoint is down, how many more attempts will {product} make to send "
                  "an event?",
                  "How many redelivery attempts does {product} perform for a failed "
                  "callback?")),
               F("retry_window", "window_hours",
                 ("Retries stop once {value} have passed since the first attempt.",
                  "No retry is attempted more than {value} after the original event."),
                 ("After how long does {product} give up on an event that keeps failing?",
                  "What's the cut-off after which {product} abandons redelivery "
                  "entirely?"))),
              ("Each retry carries the same event id, so receivers can deduplicate.",
               "Endpoints that fail for a long time are disabled and the owner is emailed.")),
            S(("Endpoint limits", "Subscriptions"),
              (F("max_endpoints", "endpoints",
                 ("A workspace can register at most {value}.",
                  "You can subscribe up to {value} per workspace."),
                 ("How many webhook URLs can a single {product} workspace have?",
                  "Is there a cap on the number of receivers we can configure in {product}?")),),
              ("Each endpoint can subscribe to any set of event types.",
               "Disabled endpoints still count against the limit.")),
        ),
        ("How to verify webhook signatures from {product}",
         "Setting up your first {product} webhook", "Debugging failed {product} deliveries"),
        ("Create the endpoint in the developer settings and choose the events you need.",
         "Compute the HMAC of the raw body with your signing secret and compare it to the "
         "header.",
         "Reject deliveries whose timestamp is too old to prevent replays.",
         "The delivery log shows the status code your endpoint returned.",
         "Use the Resend button to replay a single delivery.",
         "Keep your signing secret out of source control."),
        ("Webhook delivery log now shows response bodies.",
         "New event types for archived {things}.",
         "Retry schedule documentation updated."),
    ),
    TopicSpec(
        "billing", "Plans, billing and trials",
        ("This page summarises how {product} is priced and billed.",
         "Prices are in US dollars and exclude taxes.",
         "Discounts for non-profits and education are handled by the sales team."),
        (
            S(("Free trial", "Trying {product}"),
              (F("trial_days", "trial_days",
                 ("New workspaces get a free trial of {value} with every feature enabled.",
                  "The {product} trial lasts {value}; no credit card is needed to start."),
                 ("How long can a prospect use {product} for free before paying?",
                  "How much time does the {product} evaluation period give new customers?")),),
              ("At the end of the trial the workspace becomes read-only until a plan is "
               "chosen.",
               "Trials can be extended once by the sales team.")),
            S(("Seat pricing", "Pricing", "What it costs"),
              (F("seat_price", "seat_price",
                 ("Each seat costs {value} per month on the Standard plan, billed annually.",
                  "Standard pricing is {value} per user per month with annual billing."),
                 ("What does one {product} licence cost per month on Standard?",
                  "How much are we paying per person each month for {product} Standard?")),),
              ("Monthly billing costs more than annual billing.",
               "Seats can be added at any time and are prorated.")),
            S(("Refunds", "Cancellations and refunds"),
              (F("refund_days", "refund_days",
                 ("Annual plans can be cancelled for a full refund within {value} of purchase.",
                  "A full refund is available if you cancel within {value} of paying."),
                 ("Until when can a {product} customer change their mind and get their money "
                  "back?",
                  "What's the money-back period for a {product} annual subscription?")),),
              ("Refunds are issued to the original payment method.",
               "Partial months are not refunded after that period.")),
            S(("Invoices and payment terms", "Paying by invoice"),
              (F("net_days", "net_days",
                 ("Invoices are payable within {value} of the invoice date.",
                  "Payment terms for invoiced customers are {value} net."),
                 ("How long does an invoiced {product} customer have to settle the bill?",
                  "What are the payment terms on {product} invoices?")),),
              ("Invoicing is available on annual plans with ten or more seats.",
               "Late invoices may lead to the workspace being suspended.")),
        ),
        ("How to change your {product} plan", "Updating billing details in {product}",
         "Reading your {product} invoice"),
        ("Open the Billing page and choose Change plan.",
         "The price difference is prorated to the end of the billing period.",
         "Update the card on file before it expires to avoid interruptions.",
         "Invoices list each seat and any proration.",
         "Send billing questions to the finance inbox.",
         "Tax identifiers can be added to every invoice."),
        ("Annual billing now supports purchase orders.",
         "Trial workspaces show days remaining in the header.",
         "Invoices include the workspace id."),
    ),
    TopicSpec(
        "support", "Support and service levels",
        ("This page describes the service levels {company} commits to for {product}.",
         "Service credits apply when a commitment is missed, as set out in the customer "
         "agreement.",
         "Severity is assigned by support when a ticket is opened."),
        (
            S(("Availability", "Uptime commitment"),
              (F("uptime", "uptime",
                 ("{product} is committed to {value} monthly availability.",
                  "The monthly uptime target for {product} is {value}."),
                 ("What availability does {company} promise for {product} each month?",
                  "What's the SLA percentage we guarantee on {product}?")),),
              ("Availability is measured from several regions every minute.",
               "Scheduled maintenance does not count as downtime.")),
            S(("Response times", "How fast we respond"),
              (F("sev1", "sev1_minutes",
                 ("For Severity 1 incidents, an engineer responds within {value}, at any hour.",
                  "Critical (Severity 1) tickets get a first response within {value}."),
                 ("If {product} is completely down for a customer, how quickly must we get "
                  "back to them?",
                  "What's the first-reply target for a critical outage ticket on "
                  "{product}?")),
               F("sev2", "sev2_hours",
                 ("Severity 2 tickets receive a first response within {value} during "
                  "business days.",
                  "High-impact but not critical issues (Severity 2) are answered within "
                  "{value}."),
                 ("How fast do we answer a serious but not critical {product} problem?",
                  "What's the turnaround for a Sev2 {product} ticket?"))),
              ("Lower severities are answered within two business days.",
               "Response times start when the ticket is acknowledged by the system.")),
            S(("Maintenance", "Planned maintenance"),
              (F("maintenance", "maintenance",
                 ("Planned maintenance for {product} takes place on {value}.",
                  "{product} may be briefly unavailable during the maintenance window, "
                  "{value}."),
                 ("When is {product} allowed to go down for scheduled work?",
                  "Which time slot is reserved for {product} upgrades?")),),
              ("Customers are told about maintenance at least five days ahead.",
               "Emergency maintenance can happen outside the window.")),
            S(("Escalation", "Escalating a ticket"),
              (F("escalation_manager", "person",
                 ("Escalations that are not resolved in time go to {value}, the support "
                  "manager for {product}.",
                  "The escalation owner for {product} is {value}."),
                 ("Who handles escalated {product} tickets on the support side?",
                  "Which support manager should a stuck {product} case be escalated to?")),),
              ("Ask for an escalation in the ticket itself so the history stays in one "
               "place.",
               "Escalations are reviewed every morning.")),
        ),
        ("How to open a {product} support ticket", "Choosing the right severity for {product}",
         "Following an incident on the {product} status page"),
        ("Open a ticket from the help menu or by email.",
         "Describe the impact and how many users are affected.",
         "Attach screenshots and request ids when you have them.",
         "Subscribe to the status page to hear about incidents first.",
         "Severity can be raised if the impact grows.",
         "Support replies in the ticket thread."),
        ("Status page now lists planned maintenance.",
         "Support tickets show the assigned severity.",
         "New escalation form in the help menu."),
    ),
    TopicSpec(
        "backups", "Backups and disaster recovery",
        ("This page explains how {company} backs up {product} and how it recovers from a "
         "disaster.",
         "Backups are encrypted and stored in a second region.",
         "Customer-initiated restores are described in the restore guide."),
        (
            S(("Backup schedule", "How often we back up"),
              (F("backup_interval", "backup_hours",
                 ("A backup of every workspace is taken every {value}.",
                  "{product} snapshots workspace data once every {value}."),
                 ("How frequently does {product} save a copy of our data?",
                  "How much work could we lose at most between two {product} backups?")),
               F("backup_retention", "backup_days",
                 ("Backups are kept for {value}.",
                  "Each backup is retained for {value} and then deleted."),
                 ("How old is the oldest {product} backup we could restore from?",
                  "For how long does {company} keep {product} backups around?"))),
              ("Backups are tested by restoring a sample every week.",
               "Backups cannot be downloaded directly by customers.")),
            S(("Disaster recovery", "Recovery objectives"),
              (F("rto", "rto_hours",
                 ("If a region is lost, {product} is restored within {value}.",
                  "The recovery time objective for {product} is {value}."),
                 ("If a whole data centre goes offline, how long until {product} is back?",
                  "What's the RTO we commit to for {product}?")),),
              ("Disaster recovery is rehearsed twice a year.",
               "Failover is performed by the operations team, never automatically.")),
            S(("Restore requests", "Asking for a restore"),
              (F("restore_team", "team",
                 ("Restore requests are handled by the {value} team.",
                  "Point-in-time restores are carried out by {value}."),
                 ("Which team do I ask to roll {product} data back to an earlier point?",
                  "Who performs point-in-time recovery for {product}?")),),
              ("A restore replaces the current data, so export anything recent first.",
               "Restores are scheduled with the customer.")),
        ),
        ("How to request a restore for {product}", "Preparing for a {product} restore",
         "What to expect during {product} failover"),
        ("Open a ticket with the workspace id and the point in time you need.",
         "Export anything created since that point, because a restore replaces it.",
         "Tell your users about the restore window in advance.",
         "After the restore, check a sample of recent {things}.",
         "Failover status is posted on the status page.",
         "Restores are confirmed by email."),
        ("Backups are now replicated to a second region.",
         "Restore requests can be filed from the admin console.",
         "Disaster recovery test results are published quarterly."),
    ),
)

GUIDE_EXTRA_SECTIONS = (
    ("Before you begin", (
        "You need administrator rights in the workspace to change the settings on this page.",
        "Some settings are only visible on paid plans.",
        "Read the whole page before changing production settings.",
        "Settings changed here apply to every member of the workspace.")),
    ("Who this page is for", (
        "This page is written for workspace administrators and integration developers.",
        "End users rarely need to change anything described here.",
        "Support engineers can link customers to the relevant section.")),
    ("Terminology", (
        "A workspace is the top-level container for {things}, members and settings.",
        "A seat is one named member with a paid licence.",
        "The admin console is the settings area that administrators see.",
        "An event is a change to {things} that {product} can report.")),
    ("Related pages", (
        "See the security page for sign-in settings.",
        "The billing page explains how seats are counted.",
        "The status page lists current incidents.",
        "The developer reference documents every API endpoint.")),
    ("Changes in this revision", (
        "This revision reorganises the sections and updates several figures.",
        "Wording was clarified after customer feedback.",
        "Figures on this page were reviewed by the product team.")),
)

GENERIC_FILLER = (
    "{product} is used by teams of every size, from startups to large enterprises.",
    "If anything on this page is unclear, ask in the documentation channel.",
    "Figures on this page are reviewed every quarter.",
    "Customers on legacy contracts may have different terms; check the order form.",
    "The admin console always shows the settings that apply to your workspace.",
    "Changes take effect within a few minutes.",
    "Contact your account team for anything not covered here.",
    "All times are in UTC unless stated otherwise.",
)


# --- company policies ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PolicySpec:
    key: str
    title: str
    purpose: tuple[str, ...]
    sections: tuple[SectionSpec, ...]


POLICIES = (
    PolicySpec(
        "travel", "Travel and expense policy",
        ("This policy explains how {company} employees in {region} book business travel and "
         "claim expenses.",
         "It applies to employees and contractors travelling on company business.",
         "Managers are responsible for checking that claims follow this policy."),
        (
            S(("Submitting expense claims", "Claims"),
              (F("expense_deadline", "expense_days",
                 ("Expense claims must be submitted within {value} of the expense.",
                  "Claims filed more than {value} after the spend are not reimbursed."),
                 ("How long do I have to file my receipts after a work trip if I'm in "
                  "{where}?",
                  "What's the cut-off for getting reimbursed for travel costs, for staff in "
                  "{where}?")),
               F("receipt_threshold", "receipt_usd",
                 ("An itemised receipt is required for any single expense above {value}.",
                  "Receipts are mandatory for every item over {value}."),
                 ("Below what amount can {where} employees skip attaching a receipt?",
                  "From what amount does an expense need proof of purchase in {where}?"))),
              ("Claims are submitted through the expenses app.",
               "Personal items are never reimbursed.",
               "Reimbursements are paid with the next payroll run.")),
            S(("Meals and daily allowance", "Per diem"),
              (F("meal_allowance", "meal_usd",
                 ("While travelling, meals are covered up to {value} per day.",
                  "The daily meal allowance is {value}."),
                 ("How much can someone from {where} spend on food per day on a business "
                  "trip?",
                  "What's the per diem for eating out while travelling, in {where}?")),),
              ("Alcohol is not reimbursed.",
               "Meals with customers are expensed as hospitality instead.")),
            S(("Hotels", "Accommodation"),
              (F("hotel_cap", "hotel_usd",
                 ("Hotel stays are reimbursed up to {value} per night.",
                  "The nightly cap for accommodation is {value}."),
                 ("What's the most a {where} employee may pay for a hotel room per night?",
                  "How expensive can a business-trip hotel be for people in {where}?")),),
              ("Book through the travel portal so the company's rates apply.",
               "Exceptions for conferences need approval in advance.")),
            S(("Booking and approval", "Approvals"),
              (F("travel_approver", "person",
                 ("International trips must be approved in advance by {value}.",
                  "{value} approves every international trip for the region."),
                 ("Who signs off on trips abroad for the {where} team?",
                  "Whose approval do I need before flying internationally from {where}?")),
               F("booking_lead", "lead_days",
                 ("Flights should be booked at least {value} before departure.",
                  "Book travel no later than {value} ahead of the trip."),
                 ("How far ahead must {where} staff book their flights?",
                  "What's the minimum notice for booking business travel in {where}?"))),
              ("Economy class is the default for flights under six hours.",
               "Rail is preferred for trips under four hours.")),
        ),
    ),
    PolicySpec(
        "remote", "Remote work and home office policy",
        ("This policy describes how {company} supports employees in {region} who work from "
         "home.",
         "It covers equipment, allowances and expectations for remote work.",
         "Local law takes precedence where it is more generous."),
        (
            S(("Home office setup", "Setting up at home"),
              (F("home_stipend", "stipend_usd",
                 ("New remote employees receive a one-time home office allowance of {value}.",
                  "A one-off budget of {value} is available to furnish a home office."),
                 ("How much money do new hires in {where} get to set up a desk at home?",
                  "What's the one-off budget for home workspace furniture in {where}?")),),
              ("Receipts must be submitted for every purchase.",
               "Furniture bought with the allowance belongs to the employee.")),
            S(("Monthly allowances", "Internet and coworking"),
              (F("internet_allowance", "monthly_usd",
                 ("Employees working from home are reimbursed {value} per month for internet.",
                  "An internet allowance of {value} a month is paid to remote staff."),
                 ("How much of my broadband bill does the company cover each month in "
                  "{where}?",
                  "What's the monthly connectivity reimbursement for remote workers in "
                  "{where}?")),
               F("coworking_allowance", "monthly_usd",
                 ("Coworking spaces are covered up to {value} per month.",
                  "Remote staff may claim up to {value} monthly for a coworking desk."),
                 ("If I rent a shared office near home in {where}, how much will {company} "
                  "pay monthly?",
                  "What is the cap on coworking membership costs for {where} staff?"))),
              ("Allowances are paid with salary.",
               "Allowances stop if the employee moves to office-based work.")),
            S(("Laptops and equipment", "Equipment"),
              (F("laptop_refresh", "refresh_months",
                 ("Laptops are replaced every {value}.",
                  "The standard refresh cycle for laptops is {value}."),
                 ("How often can {where} employees get a new work computer?",
                  "After how long is a company laptop due for replacement in {where}?")),),
              ("Lost or stolen equipment must be reported to IT at once.",
               "Equipment is returned when employment ends.")),
        ),
    ),
    PolicySpec(
        "leave", "Leave and time off policy",
        ("This policy sets out the leave available to {company} employees in {region}.",
         "It covers holidays, sickness and family leave.",
         "Managers should approve leave requests promptly."),
        (
            S(("Annual leave", "Holidays"),
              (F("annual_leave", "leave_days",
                 ("Full-time employees receive {value} of paid annual leave, plus public "
                  "holidays.",
                  "The annual holiday entitlement is {value} in addition to public holidays."),
                 ("How many vacation days does a full-timer in {where} get per year?",
                  "What's the yearly paid time off for {where} employees, not counting bank "
                  "holidays?")),
               F("carry_over", "carry_days",
                 ("Up to {value} of unused leave can be carried into the next year.",
                  "Employees may roll over at most {value} of leave."),
                 ("How much unused vacation can people in {where} take into next year?",
                  "What's the maximum holiday rollover for the {where} office?"))),
              ("Leave is booked in the HR system.",
               "Part-time entitlements are prorated.")),
            S(("Requesting leave", "Notice"),
              (F("leave_notice", "notice_weeks",
                 ("Leave of more than one week should be requested at least {value} in "
                  "advance.",
                  "Give your manager {value} notice for any absence longer than a week."),
                 ("How early do {where} staff need to ask for a two-week holiday?",
                  "What notice is expected before taking a long vacation in {where}?")),),
              ("Short absences can be requested with less notice.",
               "Managers may decline leave during release freezes.")),
            S(("Sickness", "Sick leave"),
              (F("sick_certificate", "sick_days",
                 ("A doctor's note is needed for sickness absence longer than {value}.",
                  "Employees off sick for more than {value} must provide a medical "
                  "certificate."),
                 ("After how many days off ill does someone in {where} need a medical note?",
                  "When does {where} HR ask for a doctor's certificate during illness?")),),
              ("Tell your manager as early as possible on the first day of absence.",
               "Sick leave does not reduce annual leave.")),
            S(("Parental leave", "Family leave"),
              (F("parental_leave", "parental_weeks",
                 ("New parents receive {value} of fully paid parental leave.",
                  "Parental leave is paid in full for {value}."),
                 ("How long is paid leave for a new mum or dad in {where}?",
                  "How much fully paid time off do {where} employees get when they have a "
                  "baby?")),),
              ("Parental leave can be taken in up to three blocks.",
               "Adoptive parents have the same entitlement.")),
        ),
    ),
    PolicySpec(
        "learning", "Learning and development policy",
        ("This policy describes how {company} funds learning for employees in {region}.",
         "It covers courses, conferences and certifications.",
         "Learning should relate to the employee's current or planned role."),
        (
            S(("Learning budget", "Annual budget"),
              (F("learning_budget", "budget_usd",
                 ("Each employee has an individual learning budget of {value} per year.",
                  "Employees can spend up to {value} a year on courses and books."),
                 ("How much can I spend on training each year if I'm in {where}?",
                  "What's the yearly education allowance for {where} staff?")),),
              ("Unused budget does not carry over.",
               "Books and online subscriptions count against the budget.")),
            S(("Conferences", "Conference attendance"),
              (F("conference_days", "conference_days",
                 ("Employees may take up to {value} per year of paid time to attend "
                  "conferences.",
                  "Conference attendance is allowed for {value} a year on paid time."),
                 ("How many working days a year can {where} people spend at industry events?",
                  "What's the paid time allowance for going to conferences in {where}?")),),
              ("Travel to conferences follows the travel policy.",
               "Speakers may attend additional events with their manager's approval.")),
            S(("Approval", "Who approves"),
              (F("learning_approver", "person",
                 ("Requests above the individual budget are approved by {value}.",
                  "{value} decides on learning requests that exceed the budget."),
                 ("Who can approve a course that costs more than my learning budget in "
                  "{where}?",
                  "In {where}, whom do I ask when training goes over the allowance?")),
               F("repayment_period", "repay_months",
                 ("Course fees above the budget must be repaid if the employee leaves within "
                  "{value}.",
                  "A repayment clause applies for {value} after an expensive course."),
                 ("If {company} pays for an expensive certification and I quit, how long is "
                  "the claw-back period in {where}?",
                  "For {where} staff, how soon after a funded course would leaving trigger "
                  "repayment?"))),
              ("Approvals are recorded in the HR system.",)),
        ),
    ),
    PolicySpec(
        "procurement", "Purchasing and procurement policy",
        ("This policy explains how {company} buys goods and services in {region}.",
         "It protects the company from fraud and ensures fair prices.",
         "It applies to every purchase paid by the company."),
        (
            S(("Approval thresholds", "Spending limits"),
              (F("purchase_threshold", "threshold_usd",
                 ("Purchases above {value} need a purchase order approved by Finance.",
                  "Any spend over {value} requires an approved purchase order."),
                 ("Up to what amount can a {where} manager buy something without a purchase "
                  "order?",
                  "When does a purchase in {where} need Finance to raise a PO?")),
               F("three_quotes", "quotes_usd",
                 ("Three competing quotes are required for contracts above {value}.",
                  "Contracts worth more than {value} must be tendered to at least three "
                  "suppliers."),
                 ("From what contract value do {where} buyers need to compare several "
                  "vendors?",
                  "At what amount does {where} procurement require multiple bids?"))),
              ("Splitting a purchase to avoid a threshold is a breach of policy.",
               "Corporate cards may be used for small purchases.")),
            S(("Procurement team", "Contacts"),
              (F("procurement_lead", "person",
                 ("The procurement lead for the region is {value}.",
                  "Questions about suppliers go to {value}, who leads procurement."),
                 ("Who runs purchasing for {where}?",
                  "Who should I talk to about a new supplier in {where}?")),
               F("supplier_terms", "net_days",
                 ("Suppliers are paid {value} after a valid invoice is received.",
                  "Standard supplier payment terms are {value}."),
                 ("How long does {company} take to pay vendors in {where}?",
                  "What payment terms do {where} suppliers get by default?"))),
              ("New suppliers are checked before the first order.",
               "Contracts are stored in the contract repository.")),
        ),
    ),
    PolicySpec(
        "infosec", "Information security policy",
        ("This policy sets the security rules that every {company} employee in {region} must "
         "follow.",
         "It protects customer data and the company's systems.",
         "Breaches of this policy may lead to disciplinary action."),
        (
            S(("Passwords", "Credentials"),
              (F("password_length", "password_chars",
                 ("Passwords must be at least {value} long.",
                  "The minimum password length is {value}."),
                 ("How long does a work password have to be for {where} staff?",
                  "What's the shortest allowed login secret in {where}?")),),
              ("Use the company password manager.",
               "Never reuse a work password elsewhere.")),
            S(("Devices", "Laptops and phones"),
              (F("screen_lock", "lock_minutes",
                 ("Screens must lock automatically after {value} of inactivity.",
                  "Devices lock themselves after {value} without input."),
                 ("How quickly must an unattended laptop lock itself in {where}?",
                  "What's the auto-lock time for work computers in {where}?")),),
              ("Disk encryption must be turned on.",
               "Install updates within a week of release.")),
            S(("Reporting incidents", "Security incidents"),
              (F("incident_report", "report_hours",
                 ("Suspected security incidents must be reported within {value}.",
                  "Report any suspected incident within {value} of noticing it."),
                 ("If I think my laptop was compromised, how soon must I tell security in "
                  "{where}?",
                  "What's the deadline for raising a possible data breach in {where}?")),
               F("security_officer", "person",
                 ("The regional security officer is {value}.",
                  "{value} is the security officer for the region."),
                 ("Who is the security officer for {where}?",
                  "Which person is responsible for security in the {where} office?"))),
              ("Do not investigate an incident on your own.",
               "Phishing emails should be reported with the report button.")),
        ),
    ),
    PolicySpec(
        "oncall", "On-call and overtime policy",
        ("This policy covers on-call duty for engineers at {company} in {region}.",
         "It describes pay, response expectations and rest.",
         "It applies to everyone on a production rota."),
        (
            S(("On-call pay", "Compensation"),
              (F("oncall_stipend", "oncall_usd",
                 ("Engineers receive {value} for each week on call.",
                  "A weekly on-call payment of {value} is made."),
                 ("How much extra does an engineer in {where} earn for a week of being "
                  "pageable?",
                  "What's the on-call bonus per rota week in {where}?")),),
              ("Incidents handled outside working hours are paid as overtime.",)),
            S(("Responding to pages", "Expectations"),
              (F("page_ack", "ack_minutes",
                 ("Pages must be acknowledged within {value}.",
                  "The on-call engineer acknowledges a page within {value}."),
                 ("How fast should a {where} engineer react when the pager goes off?",
                  "What's the acknowledgement time for alerts during rota duty in "
                  "{where}?")),
               F("max_oncall_weeks", "oncall_weeks",
                 ("Nobody is on call for more than {value} in a row.",
                  "On-call stints are limited to {value} consecutively."),
                 ("What's the longest unbroken on-call stretch allowed in {where}?",
                  "How many consecutive rota weeks can one {where} engineer be given?"))),
              ("Escalate if you cannot handle a page.",)),
            S(("Rest", "Rest after incidents"),
              (F("rest_hours", "rest_hours",
                 ("After a night-time incident, engineers take at least {value} of rest "
                  "before working again.",
                  "A rest period of {value} follows any incident handled overnight."),
                 ("How much time off must {where} engineers take after being woken up by an "
                  "outage?",
                  "What's the recovery break after a night incident in {where}?")),),
              ("Managers adjust the rota to protect rest.",)),
        ),
    ),
    PolicySpec(
        "gifts", "Gifts, hospitality and ethics policy",
        ("This policy explains what {company} employees in {region} may give and accept.",
         "It protects the company's reputation and its customers' trust.",
         "When in doubt, ask before accepting."),
        (
            S(("Gifts", "Accepting gifts"),
              (F("gift_limit", "gift_usd",
                 ("Employees may accept gifts worth up to {value} from a business contact.",
                  "Gifts above {value} must be declined or handed to the company."),
                 ("What's the most expensive present a {where} employee can keep from a "
                  "vendor?",
                  "How valuable can a client's gift be before {where} staff have to refuse "
                  "it?")),
               F("gift_register", "register_days",
                 ("Every gift must be recorded in the gift register within {value}.",
                  "Log any gift in the register within {value} of receiving it."),
                 ("How soon must {where} people log a present they received?",
                  "By when does a gift need to be declared in the register in {where}?"))),
              ("Cash and vouchers are never acceptable.",)),
            S(("Raising concerns", "Ethics contact"),
              (F("ethics_contact", "person",
                 ("Concerns about gifts or conflicts of interest go to {value}, the ethics "
                  "officer.",
                  "The region's ethics officer is {value}."),
                 ("Who do I talk to about a possible conflict of interest in {where}?",
                  "Which person is the ethics officer for {where}?")),),
              ("Concerns can also be raised anonymously.",)),
        ),
    ),
)

POLICY_FILLER = (
    "This policy is reviewed every year by the People team.",
    "Questions about this policy go to your manager first.",
    "Where this policy and local law differ, local law applies.",
    "Exceptions must be approved in writing.",
    "Earlier revisions of this policy are kept for reference only.",
    "Amounts are in US dollars or the local equivalent.",
)


# --- support articles ---------------------------------------------------------------------------

@dataclass(frozen=True)
class IssueSpec:
    key: str
    title: str  # with {code}
    symptoms: tuple[str, ...]
    symptom_question: str  # how a question paraphrases the symptom
    cause: tuple[str, ...]
    # The setting that fixes it is "<head> <tail>": no head ends with another head and no tail
    # is a word of a head, so one setting's name never contains another's.
    settings: tuple[tuple[str, ...], tuple[str, ...]]
    value_kind: str
    fix: tuple[str, ...]  # with {setting} and {value}


ISSUES = (
    IssueSpec(
        "signature", "Webhook signature verification fails ({code})",
        ("Receivers reject deliveries with error {code}.",
         "The signature check fails even though the secret is correct."),
        "incoming events being rejected as forged",
        ("The receiving server's clock differs from {company}'s by more than the allowed "
         "skew.",),
        (("Clock Skew", "Timestamp", "Signature", "Replay", "Delivery Clock"),
         ("Tolerance", "Leeway", "Window", "Margin", "Allowance")),
        "fix_seconds",
        ("Set **{setting}** to {value} in the developer settings.",
         "Raise **{setting}** to {value}, then resend a delivery.")),
    IssueSpec(
        "sync_stall", "Sync stops partway ({code})",
        ("The desktop app shows {code} and sync stops before it completes.",
         "Progress stays at the same percentage for a long time."),
        "the desktop client freezing halfway through syncing",
        ("A local cache grew past its size limit.",),
        (("Local Cache", "Sync", "Offline Store", "Disk Cache", "Sync Queue"),
         ("Size", "Buffer", "Limit", "Quota", "Capacity", "Ceiling")),
        "fix_mb",
        ("Increase **{setting}** to {value} and restart the app.",
         "Set **{setting}** to {value}; the app resumes syncing on restart.")),
    IssueSpec(
        "logout", "Users are signed out unexpectedly ({code})",
        ("Members report being signed out several times a day with {code}.",
         "The problem affects users behind a corporate proxy."),
        "people getting logged out over and over during the day",
        ("The proxy strips the session cookie on some requests.",),
        (("Session Binding", "Token Refresh", "Cookie Renewal", "Session Keepalive",
          "Proxy Session"),
         ("Interval", "Period", "Timer", "Cadence", "Window")),
        "fix_minutes",
        ("Set **{setting}** to {value} in the admin console.",
         "Change **{setting}** to {value} so sessions renew before the proxy drops them.")),
    IssueSpec(
        "export_rows", "CSV export is missing rows ({code})",
        ("Exports finish with warning {code} and contain fewer rows than expected.",
         "Large exports are cut off without an error message."),
        "spreadsheet downloads that come out incomplete",
        ("The export hits the per-file row limit and drops the rest.",),
        (("Rows Per File", "Export Chunk", "Split", "File Row", "Export Batch"),
         ("Limit", "Size", "Threshold", "Cap", "Maximum")),
        "fix_count",
        ("Set **{setting}** to {value} so the export is split into several files.",
         "Lower **{setting}** to {value} and run the export again.")),
    IssueSpec(
        "sso_loop", "Single sign-on loops back to the sign-in page ({code})",
        ("After signing in with the identity provider, users land on the sign-in page "
         "again.",
         "The browser console shows {code}."),
        "SSO sign-in bouncing users straight back to the login screen",
        ("The identity provider's assertion arrives after it has already expired.",),
        (("Assertion", "SAML Clock", "Login Grace", "Assertion Clock", "IdP Response"),
         ("Lifetime", "Drift", "Period", "Tolerance", "Window")),
        "fix_seconds",
        ("Set **{setting}** to {value} in the SSO configuration.",
         "Increase **{setting}** to {value} on the identity settings page.")),
    IssueSpec(
        "duplicate_jobs", "Scheduled job runs twice ({code})",
        ("Scheduled jobs occasionally run twice and log {code}.",
         "Duplicate {things} appear a few minutes apart."),
        "scheduled tasks firing twice",
        ("Two workers pick up the same job when the lock expires too early.",),
        (("Job Lock", "Scheduler Lease", "Run Lock", "Worker Claim", "Task Lease"),
         ("Timeout", "Duration", "Length", "Expiry", "Hold")),
        "fix_minutes",
        ("Set **{setting}** to {value} in the automation settings.",
         "Raise **{setting}** to {value} so a running job keeps its lock.")),
    IssueSpec(
        "stale_dashboard", "Dashboard shows stale data ({code})",
        ("Dashboards show figures that are hours old, with {code} in the corner.",
         "Refreshing the page does not help."),
        "dashboards showing out-of-date numbers",
        ("The cache keeps results longer than the data changes.",),
        (("Result Cache", "Dashboard Refresh", "Query Cache", "Tile", "Snapshot Cache"),
         ("TTL", "Expiry", "Interval", "Lifetime", "Timeout")),
        "fix_seconds",
        ("Set **{setting}** to {value} for the affected dashboards.",
         "Lower **{setting}** to {value} and reload the dashboard.")),
    IssueSpec(
        "upload_fail", "Uploads fail at 99 percent ({code})",
        ("Uploads reach 99 percent and then fail with {code}.",
         "Small files upload without problems."),
        "big file uploads failing right at the end",
        ("The upload proxy buffers the whole file and runs out of memory.",),
        (("Upload Buffer", "Chunked Upload", "Proxy Body", "Request Body", "Upload Part"),
         ("Size", "Threshold", "Limit", "Cap", "Ceiling")),
        "fix_mb",
        ("Set **{setting}** to {value} on the upload settings page.",
         "Change **{setting}** to {value} so large files are sent in parts.")),
    IssueSpec(
        "throttled", "Integration receives 429 errors ({code})",
        ("An integration receives HTTP 429 responses tagged {code}.",
         "The errors come in bursts at the top of every hour."),
        "an integration getting too-many-requests errors every hour",
        ("Scheduled scripts all start at the same minute and exceed the rate limit.",),
        (("Request Spread", "Batch Concurrency", "Parallel Workers", "Worker Pool",
          "Request Concurrency"),
         ("Limit", "Cap", "Maximum", "Setting", "Level")),
        "fix_count",
        ("Set **{setting}** to {value} in the integration's configuration.",
         "Reduce **{setting}** to {value} so requests are spread out.")),
    IssueSpec(
        "notifications", "Email notifications arrive late ({code})",
        ("Notification emails arrive up to an hour late; the mail log shows {code}.",
         "In-app notifications are on time."),
        "notification emails showing up very late",
        ("Digest batching holds emails back to group them.",),
        (("Digest", "Notification Batch", "Email Hold", "Mail Queue", "Digest Batching"),
         ("Delay", "Window", "Time", "Interval", "Period")),
        "fix_minutes",
        ("Set **{setting}** to {value} in the notification settings.",
         "Lower **{setting}** to {value} so emails are sent sooner.")),
)

ISSUE_QUESTIONS_CODE = (
    "A {product} customer is seeing {code}. Which setting do we tell them to change?",
    "What should be adjusted to clear error {code} in {product}?",
)
ISSUE_QUESTIONS_SYMPTOM = (
    "Which configuration option fixes {symptom} in {product}?",
    "{product} users are complaining about {symptom}. What option do we change?",
)
ISSUE_QUESTIONS_VALUE = (
    "To get rid of {code} in {product}, what value should the setting be given?",
    "What's the recommended value when fixing {symptom} in {product}?",
)
ISSUE_QUESTIONS_TEAM = (
    "If the usual fix for {code} does not work in {product}, which team takes over?",
    "Who do we escalate to when {symptom} persists in {product}?",
)
ISSUE_ESCALATION = (
    "If the problem persists, escalate the ticket to the {value} team.",
    "Still stuck? Hand the case over to {value}.",
)
ISSUE_FILLER = (
    "Ask the customer for the request id and the time the problem started.",
    "Check the status page first in case there is an ongoing incident.",
    "This article is maintained by support engineering.",
    "Confirm the fix with the customer before closing the ticket.",
)

INCIDENT_TEMPLATES = (
    "Between {start} and {end} UTC, some {product} customers saw delays of up to {n} minutes "
    "when working with {things}. The cause was a misconfigured load balancer. No data was "
    "lost.",
    "For {n} minutes, {product} returned errors for a portion of requests. Engineers rolled "
    "back a faulty deployment. We are adding more checks to the release pipeline.",
    "A storage node serving {product} failed and {things} were read-only for {n} minutes. "
    "Traffic was moved to a healthy node.",
    "Webhook deliveries from {product} were delayed by about {n} minutes after a queue "
    "backlog. All delayed deliveries were sent.",
    "Sign-in to {product} failed for {n} minutes for users of one identity provider, after a "
    "certificate change on their side.",
)
