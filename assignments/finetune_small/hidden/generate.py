"""Synthetic customer-support tickets for one instance: its public splits and its hidden split.

Trusted code: it lives in ``hidden/`` and never enters a candidate container. The grader calls
``public_files(seeds)`` and ``hidden_items(seeds)`` with the instance's seeds (``public`` and
``hidden`` of ``assignment.yaml``, each derived from the deployment's secret; the published values
make the demo instance, whose public files are committed in ``candidate/data/``):

    python assignments/finetune_small/hidden/generate.py \\
        --out assignments/finetune_small/candidate/data

What the instance draws from its seeds, so that nothing about its hidden split can be tabulated
or learnt from this file's output under other seeds:

- the company's **world** (``public`` seed): its product brands, plan tiers and integrations are
  invented from syllables (over 370,000 names), the ones customers use in the public splits and
  the newer ones that only the shifted slice mentions;
- every row: which intent, which wording, order numbers, amounts, e-mails, typos, casing.

What a public file cannot give, a held-out **wording** of each intent, comes from content the
repository does not hold:

- a deployment's private content, ``hidden/content/shifted.jsonl`` beside this file (written by
  the hiring team; see ``load_content`` for its form): the shifted slice's main requests, details
  and side remarks are drawn from it;
- the demo instance uses the example content ``hidden/content/example_shifted.jsonl`` instead
  (public, like everything about the demo);
- a private instance without private content has no held-out wordings: every wording this file
  can emit is learnable by anyone who runs it, with its label, so none can be held out. Its
  shifted slice is the world's new names and, for half its tickets, contrast tickets (below).

What makes the tickets realistic enough to separate methods:

- 14 intents with imbalanced frequencies (13% down to 2%);
- noise: typos, all-lower or all-caps tickets, greetings, closings and signatures, order numbers,
  e-mail addresses, amounts and dates;
- two-intent tickets: a quarter mention a second intent after (or before) the main request, behind
  a cue ("Also, ...", "Not my main question, but ..."); the label is the main request's intent;
- contrast tickets (12%): "This is not about <topic>, it's about <topic>", the label being the
  topic the ticket is about. Every topic starts with "the" and ends in a number drawn per ticket,
  and the other intent is drawn as the main one is, so the two roles are exchangeable for a bag
  of words: no amount of data lifts one above a coin toss on them, while a model that reads the
  frame gets them right;
- label noise: 3% of public rows carry a wrong label, mostly a confusable intent; hidden labels are
  clean, so the hidden metrics measure the model, not the noise;
- a shifted slice in the hidden split (``slice == "shifted"``): tickets written later, naming the
  world's newer products, plans and integrations, with greetings, closings and cues never seen in
  the public splits, and main requests worded as the held-out content says. Side remarks of
  two-intent tickets there use held-out or training wordings alike, so a familiar phrase can pull
  a phrase-matching model away from the unfamiliar main request. Its classes are less imbalanced
  (weights raised to the power 0.5) so its macro-F1 does not hang on a handful of rows.

Everything is drawn from ``random.Random`` seeded with strings, so the output is the same bytes on
every machine and Python version (string seeds are hashed with SHA-512, not ``hash()``).
"""

from __future__ import annotations

import argparse
import json
import random
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CONTENT_FILE",
    "CONTRAST_FRAMES",
    "DEV_SIZE",
    "EXAMPLE_CONTENT_FILE",
    "HIDDEN_SHIFTED",
    "HIDDEN_SIZE",
    "INTENTS",
    "LABELS",
    "TOPICS",
    "TRAIN_SIZE",
    "Content",
    "ContentError",
    "World",
    "content_for",
    "exposure",
    "hidden_items",
    "hidden_split",
    "load_content",
    "public_files",
    "public_splits",
    "to_jsonl",
    "world",
]

TRAIN_SIZE = 2000
DEV_SIZE = 400
HIDDEN_SIZE = 1000
HIDDEN_SHIFTED = 400          # rows of the hidden split that form the shifted slice
TWO_INTENT_RATE = 0.25
CONTRAST_RATE = 0.12          # tickets that say which request they are not about
SHIFTED_CONTRAST_RATE = 0.5   # the same in the shifted slice without held-out wordings
LABEL_NOISE_RATE = 0.03       # public splits only
SHIFTED_FLATTEN = 0.5         # the shifted slice's class weights are weights ** this

HERE = Path(__file__).resolve().parent
CONTENT_FILE = HERE / "content" / "shifted.jsonl"                  # a deployment's, private
EXAMPLE_CONTENT_FILE = HERE / "content" / "example_shifted.jsonl"  # the demo's, public
ASSIGNMENT_FILE = HERE.parent / "assignment.yaml"


@dataclass(frozen=True)
class Intent:
    """One label and its wordings in the public splits (every one of them public)."""

    label: str
    weight: float
    phrasings: tuple[str, ...]
    details: tuple[str, ...]
    mentions: tuple[str, ...]           # a secondary-intent clause, lower case, no full stop


# What a contrast ticket names ("This is not about X, it's about Y"): a noun phrase per intent that
# starts with "the" and ends in a number drawn per ticket, so that only the frame around it,
# never a neighbouring word (a bigram), says whether it is the ticket's request.
TOPICS: dict[str, tuple[str, ...]] = {
    "refund_request": ("the refund for order {order}", "the money back for order {order}"),
    "shipping_delay": ("the late delivery of order {order}",
                       "the parcel that never arrived, order {order}"),
    "password_reset": ("the password reset for account {order}",
                       "the reset link for my password, account {order}"),
    "billing_dispute": ("the double charge on my card ending {last4}",
                        "the wrong charge on order {order}"),
    "cancellation": ("the cancellation of order {order}",
                     "the cancellation of my subscription, account {order}"),
    "bug_report": ("the crash with error {error}", "the bug that shows error {error}"),
    "account_locked": ("the locked account {order}", "the suspension of my account {order}"),
    "plan_change": ("the plan change for account {order}", "the upgrade of account {order}"),
    "invoice_copy": ("the copy of invoice {invoice}", "the invoice for order {order}"),
    "feature_request": ("the feature suggestion in ticket {order}",
                        "the feature idea I sent, ticket {order}"),
    "address_change": ("the address change for order {order}",
                       "the new delivery address for order {order}"),
    "data_export": ("the export of my data, account {order}",
                    "the download of all my data, account {order}"),
    "privacy_request": ("the deletion of my personal data, account {order}",
                        "the personal data you hold on account {order}"),
    "payment_update": ("the new card ending {last4}", "the update of the card ending {last4}"),
}
# {main} is the ticket's request, {other} what it is not about; both roles see the same words.
CONTRAST_FRAMES = (
    "This is not about {other}, it's about {main}.",
    "My question is about {main}, not about {other}.",
    "Please ignore {other}, that's sorted. I need help with {main}.",
    "I need help with {main}. Not with {other}, that's sorted.",
    "Forget {other}; what I need is {main}.",
    "What I need is {main}; forget {other}.",
    "Earlier I asked about {other}, but now it's {main} I need help with.",
    "It's {main} I'm writing about, {other} is fine now.",
)


INTENTS: tuple[Intent, ...] = (
    Intent(
        "refund_request", 0.13,
        phrasings=(
            "I would like a refund for my {product}.",
            "Please refund order {order}, the {product} arrived damaged.",
            "Can I get my money back for the {product}? It doesn't work as described.",
            "I returned the {product} {days} days ago and still haven't received my refund.",
            "Requesting a full refund of {amount} for order {order}.",
            "The {product} is not what I expected, I want to return it and get a refund.",
            "How do I get a refund for order {order}?",
            "I sent the {product} back last week, when will the refund of {amount} be processed?",
            "My {product} stopped working after two days, I'd like a refund please.",
            "I want to return my {product} for a refund.",
            "Refund request for order {order} please.",
            "I was promised a refund for the {product} but nothing has come through yet.",
        ),
        details=(
            "The box was opened and the item was scratched.",
            "I have the return label and the receipt.",
            "I'd prefer the money back on my original card.",
            "I don't want a replacement, just the refund.",
            "It was a gift and it doesn't fit.",
            "The return was dropped off at the post office on {date}.",
        ),
        mentions=(
            "I'm still waiting on a refund for order {order2}",
            "I'd also like a refund for the {product2}",
            "please refund the {product2} I sent back",
        ),
    ),
    Intent(
        "shipping_delay", 0.13,
        phrasings=(
            "My order {order} hasn't arrived yet.",
            "Where is my package? Order {order} was supposed to be delivered on {date}.",
            "The tracking for my {product} hasn't updated in {days} days.",
            "It's been {days} days and my {product} still hasn't shipped.",
            "My delivery is late, order {order}.",
            "The courier says the package is delayed, can you check order {order}?",
            "I ordered a {product} on {date} and it still hasn't been delivered.",
            "When will my order ship? It's been stuck in processing for a week.",
            "Tracking shows my package stuck at the depot since {date}.",
            "Order {order} is way past the estimated delivery date.",
            "Still waiting for my {product}, the delivery was due {date}.",
        ),
        details=(
            "I paid for express shipping.",
            "I need it before the weekend.",
            "The tracking number doesn't work on the carrier's website.",
            "Nobody has contacted me about the delay.",
            "The estimated delivery keeps moving.",
        ),
        mentions=(
            "my other order {order2} hasn't arrived either",
            "the tracking for {order2} isn't updating",
            "the {product2} I ordered is also late",
        ),
    ),
    Intent(
        "password_reset", 0.11,
        phrasings=(
            "I forgot my password and can't log in.",
            "How do I reset my password?",
            "The password reset email never arrives.",
            "The reset link says it has expired.",
            "I need to change my password, can you send a reset link to {email}?",
            "I can't remember my password for the {product} app.",
            "The reset password page gives me error {error}.",
            "Please help me reset the password on my account.",
            "Forgot password, the reset link doesn't work.",
            "I keep getting 'incorrect password' and the reset email is not coming.",
        ),
        details=(
            "I've checked my spam folder.",
            "I tried three times already.",
            "My username is {email}.",
            "I changed my phone so I can't use the old login method.",
        ),
        mentions=(
            "I also forgot my password for the app",
            "the password reset email never came either",
        ),
    ),
    Intent(
        "billing_dispute", 0.09,
        phrasings=(
            "I was charged twice for my subscription this month.",
            "There is a charge of {amount} on my card that I don't recognise.",
            "You billed me {amount} but my plan costs less.",
            "I was charged after I cancelled, please explain this charge.",
            "Why was I billed {amount} on {date}? I dispute this charge.",
            "My credit card was charged twice for order {order}.",
            "The amount on my bill is wrong.",
            "I see an unexpected charge from you on my statement.",
            "I was overcharged {amount} on my last bill.",
            "This charge of {amount} is incorrect, I never agreed to it.",
        ),
        details=(
            "My card ends in {last4}.",
            "I've attached a screenshot of my bank statement.",
            "Please correct it before the next billing cycle.",
            "I have been a customer for years and this never happened before.",
        ),
        mentions=(
            "I was also charged twice last month",
            "there's also a charge of {amount} I don't recognise",
        ),
    ),
    Intent(
        "cancellation", 0.09,
        phrasings=(
            "I want to cancel my subscription.",
            "Please cancel my account and stop all future payments.",
            "How do I cancel my {plan} plan?",
            "Cancel my membership effective immediately.",
            "I'd like to cancel order {order} before it ships.",
            "I no longer need the service, please cancel my subscription.",
            "Can you confirm my subscription has been cancelled?",
            "Please cancel my {plan} subscription at the end of the month.",
            "I want to cancel, where is the cancel option in the settings?",
        ),
        details=(
            "I'm moving to another provider.",
            "It's too expensive for me now.",
            "Please send a confirmation email.",
            "Don't try to offer me a discount.",
        ),
        mentions=(
            "I'm thinking of cancelling my subscription",
            "I might cancel if this isn't fixed",
        ),
    ),
    Intent(
        "bug_report", 0.08,
        phrasings=(
            "The app crashes when I open the settings page.",
            "I get error {error} when I try to upload a file.",
            "The {product} app keeps freezing on {device}.",
            "There's a bug: the save button does nothing.",
            "Since the last update the {product} app crashes on startup.",
            "The dashboard shows a blank page in {device}.",
            "Sync is broken, my changes disappear after a refresh.",
            "I found a bug in the export screen, it shows error {error}.",
            "Notifications stopped working after the update on {device}.",
            "The search results page throws error {error}.",
        ),
        details=(
            "I've tried reinstalling the app.",
            "Steps to reproduce: open the app, tap settings, it crashes.",
            "It happens every time.",
            "Screenshot attached.",
            "Clearing the cache didn't help.",
        ),
        mentions=(
            "the app also crashes when I open settings",
            "there's a bug on the checkout page too",
        ),
    ),
    Intent(
        "account_locked", 0.07,
        phrasings=(
            "My account is locked.",
            "I've been locked out of my account after too many login attempts.",
            "My account was suspended and I don't know why.",
            "It says my account is locked for security reasons, please unlock it.",
            "I can't access my account, it says it has been disabled.",
            "Please unlock my account {email}.",
            "After entering the wrong code my account got locked.",
            "My account has been blocked, how do I get it unlocked?",
            "Account locked since {date}, please help me get access back.",
        ),
        details=(
            "I know my password is correct.",
            "I need access urgently for work.",
            "I didn't receive any notice before it was suspended.",
        ),
        mentions=(
            "my colleague's account is locked too",
            "my account also got locked at some point",
        ),
    ),
    Intent(
        "plan_change", 0.07,
        phrasings=(
            "I want to upgrade from {plan} to {plan2}.",
            "How do I downgrade my plan to {plan2}?",
            "Please switch my subscription from the {plan} plan to the {plan2} plan.",
            "Can I change my plan mid-cycle?",
            "We need more seats, please upgrade us to {plan2}.",
            "I'd like to move to the annual {plan2} plan.",
            "What happens to my data if I downgrade from {plan} to {plan2}?",
            "Upgrade my account to the {plan2} plan please.",
            "I want to change my plan, {plan} is too much for us.",
        ),
        details=(
            "We have 5 new people joining the team.",
            "Will the price be prorated?",
            "Please apply the change from next month.",
        ),
        mentions=(
            "I'd also like to upgrade to {plan2} at some point",
            "I'm planning to downgrade next month",
        ),
    ),
    Intent(
        "invoice_copy", 0.06,
        phrasings=(
            "Can you send me a copy of my invoice for {date}?",
            "I need an invoice for order {order}.",
            "Please email me the invoice for my last payment.",
            "Where can I download my invoices?",
            "I need a VAT invoice with my company name on it.",
            "Could you resend invoice {invoice}? I can't find it.",
            "Our accounting team needs invoices for the last three months.",
            "Please send a copy of invoice {invoice} to {email}.",
        ),
        details=(
            "The company name is {company}.",
            "Please include our VAT number.",
            "PDF format please.",
        ),
        mentions=(
            "could you also send me the invoice",
            "I'll need an invoice for this as well",
        ),
    ),
    Intent(
        "feature_request", 0.05,
        phrasings=(
            "It would be great if you added {feature}.",
            "Please add {feature} to the app.",
            "Feature request: {feature}.",
            "Any plans to support {feature}?",
            "I'd love to see {feature} in a future update.",
            "Can you add an option for {feature}?",
            "Suggestion: {feature} would make the app much better.",
            "Please consider adding {feature}.",
        ),
        details=(
            "Many of my colleagues would use it.",
            "Competitors already have this.",
            "It would save us a lot of time.",
        ),
        mentions=(
            "it would be nice to have {feature}",
            "please consider adding {feature}",
        ),
    ),
    Intent(
        "address_change", 0.04,
        phrasings=(
            "I need to change the shipping address on order {order}.",
            "I moved, please update my address.",
            "Can I change the delivery address for my {product}? It hasn't shipped yet.",
            "Please update my billing address to {address}.",
            "I entered the wrong address for order {order}.",
            "How do I change my address in my account?",
            "Please change the address on my account to {address}.",
        ),
        details=(
            "The new address is {address}.",
            "The old one had a typo in the postcode.",
        ),
        mentions=(
            "my address has changed too, it's {address}",
            "please update my address to {address}",
        ),
    ),
    Intent(
        "data_export", 0.035,
        phrasings=(
            "How can I export all my data?",
            "I need to download a copy of all my data from my account.",
            "Please export my projects to CSV.",
            "Is there a way to export my data before I leave?",
            "The data export has been pending for {days} days.",
            "I want a full export of my files and history.",
            "Can I export my data in JSON format?",
        ),
        details=(
            "We're migrating to a new system.",
            "It's about 2 GB of files.",
            "I need it for an audit.",
        ),
        mentions=(
            "I'd also like an export of my data",
            "how do I export my data",
        ),
    ),
    Intent(
        "privacy_request", 0.025,
        phrasings=(
            "Please delete all my personal data under GDPR.",
            "I want to know what personal data you hold about me.",
            "Please remove my personal information from your systems.",
            "This is a data subject access request for {email}.",
            "I request the deletion of my account and all associated personal data.",
            "Stop using my data for marketing and delete my information.",
        ),
        details=(
            "I expect a reply within 30 days as required by law.",
            "My email address is {email}.",
        ),
        mentions=(
            "please also delete my personal data afterwards",
            "I want my personal information removed",
        ),
    ),
    Intent(
        "payment_update", 0.02,
        phrasings=(
            "I need to update my credit card details.",
            "My card expired, how do I add a new payment method?",
            "Please change the card on file to my new card ending {last4}.",
            "How do I switch my payment method to PayPal?",
            "My payment failed because my card was replaced, how do I update it?",
            "Remove my old card and add a new one.",
        ),
        details=(
            "The bank sent me a new card.",
            "I don't want the subscription to lapse.",
        ),
        mentions=(
            "I also need to update my card details",
            "my card on file has expired too",
        ),
    ),
)

LABELS: tuple[str, ...] = tuple(intent.label for intent in INTENTS)

# A wrong label is usually a confusable one, as a hurried human labeller's would be.
CONFUSABLE = {
    "refund_request": ("billing_dispute", "cancellation"),
    "shipping_delay": ("address_change", "refund_request"),
    "password_reset": ("account_locked",),
    "billing_dispute": ("refund_request", "payment_update", "invoice_copy"),
    "cancellation": ("plan_change", "refund_request"),
    "bug_report": ("feature_request",),
    "account_locked": ("password_reset",),
    "plan_change": ("cancellation", "billing_dispute"),
    "invoice_copy": ("billing_dispute",),
    "feature_request": ("bug_report",),
    "address_change": ("shipping_delay",),
    "data_export": ("privacy_request",),
    "privacy_request": ("data_export", "cancellation"),
    "payment_update": ("billing_dispute",),
}



# --- the instance's world ---------------------------------------------------------------------

# Invented names: two or three of these, e.g. "Kavrel", "Tomisa". 72 syllables give over 370,000
# names; a world draws 38 of them.
SYLLABLES = (
    "ka", "ve", "lo", "ri", "mo", "ta", "ne", "zu", "pa", "si", "do", "re", "bi", "fa", "gu",
    "ha", "ji", "ko", "lu", "me", "no", "pe", "qui", "sa", "te", "vi", "wa", "xo", "ya", "zo",
    "bra", "cle", "dri", "fro", "gla", "kre", "pli", "sta", "tro", "vra", "mar", "len", "dor",
    "kin", "vel", "tis", "ron", "dal", "mir", "sen", "gor", "lin", "var", "tus", "nel", "ber",
    "cor", "fen", "hal", "jor", "kes", "mun", "nor", "pax", "rel", "sol", "tam", "ven", "wyn",
    "zel", "quo", "ash",
)
# What the company sells: every category occurs in training; the brands are the world's.
CATEGORIES = (
    "router", "earbuds", "desk lamp", "backpack", "water bottle", "keyboard", "fan", "webcam",
    "hub", "smartwatch", "dashcam", "speaker", "blender", "e-reader", "pillow", "drone",
    "headphones", "monitor", "charger", "thermostat", "doorbell camera", "kettle", "standing desk",
    "mouse", "tablet stand", "power bank",
)
MODELS = (" Pro", " Mini", " Air", " Max", " 2", " X")    # a brand sold without a category
# Everyday features (only training names them) and kinds of integration (named after invented
# partner products, in training and in the shifted slice alike).
FEATURES = ("dark mode", "CSV import", "keyboard shortcuts", "shared folders", "offline mode",
            "recurring reminders", "bulk editing", "two-way calendar sync", "custom fields",
            "colour-coded tags", "voice commands", "a home screen widget", "a Linux desktop client",
            "a smartwatch companion app", "two-factor login with a hardware key", "PDF annotations",
            "a public API", "read receipts", "a kanban view", "scheduled reports")
INTEGRATION_KINDS = ("integration", "connector", "plug-in", "sync", "add-on")
SEEN_PRODUCTS, NEW_PRODUCTS = 12, 8
SEEN_PLANS, NEW_PLANS = 4, 4
SEEN_FEATURES, SEEN_INTEGRATIONS, NEW_INTEGRATIONS = 7, 4, 6


@dataclass(frozen=True)
class World:
    """The company of one instance: what its customers name, in the public splits and later."""

    products: tuple[str, ...]
    plans: tuple[str, ...]
    features: tuple[str, ...]
    new_products: tuple[str, ...]
    new_plans: tuple[str, ...]
    new_features: tuple[str, ...]


def _invented(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 2, 3)))).capitalize()
        if name not in taken and 4 <= len(name) <= 10:
            taken.add(name)
            return name


def world(public_seed: int) -> World:
    """The instance's world, drawn from its ``public`` seed (the hidden split shares it)."""
    rng = random.Random(f"finetune_small/world/{public_seed}")
    taken: set[str] = set()
    categories = rng.sample(CATEGORIES, SEEN_PRODUCTS + NEW_PRODUCTS)
    products = [f"{_invented(rng, taken)} {category}" if rng.random() < 0.8
                else _invented(rng, taken) + rng.choice(MODELS) for category in categories]
    plans = [_invented(rng, taken) for _ in range(SEEN_PLANS + NEW_PLANS)]
    integrations = [f"a {_invented(rng, taken)} {rng.choice(INTEGRATION_KINDS)}"
                    for _ in range(SEEN_INTEGRATIONS + NEW_INTEGRATIONS)]
    features = rng.sample(FEATURES, SEEN_FEATURES) + integrations[:SEEN_INTEGRATIONS]
    return World(products=tuple(products[:SEEN_PRODUCTS]), plans=tuple(plans[:SEEN_PLANS]),
                 features=tuple(features),
                 new_products=tuple(products[SEEN_PRODUCTS:]),
                 new_plans=tuple(plans[SEEN_PLANS:]),
                 new_features=tuple(integrations[SEEN_INTEGRATIONS:]))


@dataclass(frozen=True)
class Vocabulary:
    """Surface material that is not intent-specific: the shifted slice has its own."""

    products: tuple[str, ...]
    plans: tuple[str, ...]
    features: tuple[str, ...]
    greetings: tuple[str, ...]
    closings: tuple[str, ...]
    after_cues: tuple[str, ...]      # before a secondary intent placed after the main one
    before_cues: tuple[str, ...]     # before a secondary intent placed first
    error_style: str                 # "E123" or "0x1F2E"


SEEN_GREETINGS = ("Hi,", "Hello,", "Hi team,", "Hello support,", "Dear Support Team,",
                  "Hey there,", "Good morning,", "Hi there!", "To whom it may concern,", "hey")
SEEN_CLOSINGS = ("Thanks.", "Thanks in advance!", "Please help.",
                 "Looking forward to hearing from you.", "Any help is appreciated.",
                 "This is urgent, please respond asap.", "Thank you for your help.", "Cheers.")
SEEN_AFTER_CUES = ("Also, ", "Separately, ", "P.S. ", "One more thing: ", "Unrelated, but ",
                   "Oh and ", "Side note: ")
SEEN_BEFORE_CUES = ("Not my main question, but ", "Before I forget, ", "First a small thing: ")
NEW_GREETINGS = ("Hi,", "Hello,", "Greetings,", "Morning folks,", "Dear Sir or Madam,",
                 "Hey support people,", "Good afternoon,")
NEW_CLOSINGS = ("Much obliged.", "Appreciate a quick answer.", "Thanks.",
                "Hope you can sort this out.", "Regards.")
NEW_AFTER_CUES = ("Btw, ", "Another small thing - ", "On a different topic, ", "Additionally, ")
NEW_BEFORE_CUES = ("Minor point first: ", "Quick aside before the real issue: ")

DEVICES = ("iPhone", "Android", "Chrome", "Firefox", "Windows", "my Mac", "iPad", "Safari",
           "Samsung tablet", "Edge", "Linux laptop", "Pixel phone", "Chromebook")
FIRST_NAMES = ("Maria", "John", "Aisha", "Wei", "Lucas", "Sofia", "Omar", "Emma", "Raj",
               "Chloe", "Mateo", "Hannah", "Kenji", "Fatima", "Liam", "Olga", "Tom", "Priya",
               "Noah", "Ines", "Samuel", "Yara", "Ben", "Lena")
LAST_NAMES = ("Smith", "Garcia", "Khan", "Chen", "Muller", "Rossi", "Haddad", "Brown", "Patel",
              "Dubois", "Silva", "Novak", "Tanaka", "Ali", "Murphy", "Ivanova", "Jensen",
              "Kowalski", "Nguyen", "Okafor")
COMPANIES = ("Acme Ltd", "Brightside Studio", "Northwind GmbH", "Pine & Co", "Helix Labs",
             "Bluebird Consulting", "Kite Logistics", "Maple Dental")
STREETS = ("Oak Street", "Station Road", "Rue de la Paix", "Elm Avenue", "Harbour Lane",
           "Mill Road", "Linden Strasse", "Park Crescent")
CITIES = ("Leeds", "Lyon", "Austin", "Porto", "Berlin", "Dublin", "Toronto", "Krakow")
DATES = ("March 3", "last Monday", "the 12th", "May 21", "2/14", "Friday", "June 8",
         "the 1st of this month", "Oct 30", "Tuesday")
CURRENCIES = ("$", "€", "£")
KEYBOARD_NEIGHBOURS = {
    "a": "qs", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "wa", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}
PLACEHOLDERS = frozenset({"product", "product2", "plan", "plan2", "order", "order2", "amount",
                          "date", "days", "email", "feature", "device", "error", "invoice",
                          "last4", "address", "company"})


def _vocabularies(w: World) -> tuple[Vocabulary, Vocabulary]:
    seen = Vocabulary(products=w.products, plans=w.plans, features=w.features,
                      greetings=SEEN_GREETINGS, closings=SEEN_CLOSINGS,
                      after_cues=SEEN_AFTER_CUES, before_cues=SEEN_BEFORE_CUES, error_style="E")
    new = Vocabulary(products=w.new_products, plans=w.new_plans, features=w.new_features,
                     greetings=NEW_GREETINGS, closings=NEW_CLOSINGS,
                     after_cues=NEW_AFTER_CUES, before_cues=NEW_BEFORE_CUES, error_style="0x")
    return seen, new


# --- held-out wordings: private content --------------------------------------------------------

@dataclass(frozen=True)
class Wordings:
    """One intent's held-out wordings: main requests, details, side remarks (may be empty)."""

    requests: tuple[str, ...]
    details: tuple[str, ...]
    mentions: tuple[str, ...]


Content = dict[str, Wordings]
CONTENT_KINDS = {"request": "requests", "detail": "details", "mention": "mentions"}
MIN_REQUESTS = 3


class ContentError(ValueError):
    """A content file that cannot be used, with the line at fault."""


def load_content(path: Path) -> Content:
    """Held-out wordings from a JSONL file, one object per line:

        {"label": "refund_request", "kind": "request",
         "text": "Could the {amount} I spent on the {product} be credited back?"}

    (each object on one line).
    ``kind`` is ``request`` (a main request: at least three per intent, every intent),
    ``detail`` (a sentence that may follow it) or ``mention`` (a side remark about this intent in
    another intent's ticket: lower case, no full stop). ``text`` may use the placeholders
    {product} {product2} {plan} {plan2} {order} {order2} {amount} {date} {days} {email} {feature}
    {device} {error} {invoice} {last4} {address} {company}. Keep the wordings unlike the public
    ones in ``INTENTS`` (that is what makes them held out) and never publish the file.
    """
    found: dict[str, dict[str, list[str]]] = {label: {k: [] for k in CONTENT_KINDS.values()}
                                              for label in LABELS}
    # Split at newlines only: JSON strings may hold U+2028 and other line separators unescaped.
    lines = path.read_text(encoding="utf-8-sig").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ContentError(f"{where}: not JSON ({exc})") from exc
        if not isinstance(item, dict) or set(item) != {"label", "kind", "text"}:
            raise ContentError(f"{where}: expected an object with label, kind and text")
        label, kind, text = item["label"], item["kind"], item["text"]
        if label not in found:
            raise ContentError(f"{where}: unknown label {label!r}")
        if kind not in CONTENT_KINDS:
            raise ContentError(f"{where}: kind must be one of {sorted(CONTENT_KINDS)}")
        if not isinstance(text, str) or not text.strip():
            raise ContentError(f"{where}: empty text")
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError as exc:
            raise ContentError(f"{where}: {exc} (write a literal brace as {{{{ or }}}})") from exc
        if names - PLACEHOLDERS:
            raise ContentError(f"{where}: unknown placeholders {sorted(names - PLACEHOLDERS)}")
        public = _public_wording_in(text, label)
        if public is not None:
            raise ContentError(f"{where}: it holds the public wording {public!r} of {label}; "
                               "a held-out wording must differ")
        found[label][CONTENT_KINDS[kind]].append(text.strip())
    for label, kinds in found.items():
        if len(kinds["requests"]) < MIN_REQUESTS:
            raise ContentError(f"{path.name}: {label} has {len(kinds['requests'])} requests; "
                               f"give at least {MIN_REQUESTS}")
    return {label: Wordings(requests=tuple(k["requests"]), details=tuple(k["details"]),
                            mentions=tuple(k["mentions"])) for label, k in found.items()}


def _bare(text: str) -> str:
    return " ".join(text.casefold().rstrip(".?! ").split())


def _public_wording_in(text: str, label: str) -> str | None:
    """A public request, detail or side remark of ``label`` that ``text`` holds, if any."""
    intent = next(i for i in INTENTS if i.label == label)
    bare = _bare(text)
    return next((public for public in (*intent.phrasings, *intent.details, *intent.mentions)
                 if _bare(public) in bare), None)


def _published_seeds() -> dict[str, int]:
    import yaml  # the grader's dependency; only read here, to recognise the demo instance

    spec = yaml.safe_load(ASSIGNMENT_FILE.read_text(encoding="utf-8"))
    return {str(k): int(v) for k, v in spec["reproducibility"]["seeds"].items()}


def content_for(seeds: Mapping[str, int]) -> Content | None:
    """The held-out wordings of this instance: the deployment's private content, the example for
    the demo instance, or none (a private instance without private content)."""
    if dict(seeds) == _published_seeds():
        return load_content(EXAMPLE_CONTENT_FILE)
    if not CONTENT_FILE.is_file():
        return None
    content = load_content(CONTENT_FILE)
    example = load_content(EXAMPLE_CONTENT_FILE) if EXAMPLE_CONTENT_FILE.is_file() else {}
    copied = sorted(label for label, wordings in content.items()
                    if label in example and {*wordings.requests, *wordings.details,
                                             *wordings.mentions}
                    & {*example[label].requests, *example[label].details,
                       *example[label].mentions})
    if copied:
        raise ContentError(f"{CONTENT_FILE.name} copies the public example's wordings of "
                           f"{', '.join(copied)}: anyone can read those, so they hold nothing "
                           "out; write your own")
    return content


def exposure(seeds: Mapping[str, int]) -> list[str]:
    """What this repository's code still reads of the instance's hidden split, for the report
    and ``grader grade`` (``grader.instance.exposure``)."""
    if content_for(seeds) is not None:
        return []
    return ["The hidden tickets hold no held-out wordings: every request, topic and contrast "
            "frame is a public template of hidden/generate.py, which a parser labels about as "
            "well as the fine-tuned reference; the deployment's own wordings in "
            "hidden/content/shifted.jsonl close the shifted slice (the assignment's README)."]


# --- tickets --------------------------------------------------------------------------------

class _Slots(dict):
    """Values for a template's placeholders, drawn on first use so repeats agree."""

    def __init__(self, rng: random.Random, vocabulary: Vocabulary) -> None:
        super().__init__()
        self._rng = rng
        self._vocabulary = vocabulary

    def __missing__(self, key: str) -> str:
        value = self._draw(key)
        self[key] = value
        return value

    def _draw(self, key: str) -> str:
        rng, vocabulary = self._rng, self._vocabulary
        if key in ("product", "product2"):
            other = self.get("product" if key == "product2" else "product2")
            return rng.choice([p for p in vocabulary.products if p != other])
        if key in ("plan", "plan2"):
            other = self.get("plan" if key == "plan2" else "plan2")
            return rng.choice([p for p in vocabulary.plans if p != other])
        if key in ("order", "order2"):
            digits = "".join(rng.choice(string.digits) for _ in range(rng.choice((6, 7, 8))))
            return rng.choice(("#", "#", "", "ORD-", "no. ")) + digits
        if key == "amount":
            currency, units = rng.choice(CURRENCIES), rng.randint(5, 480)
            return f"{currency}{units}.{rng.choice(('00', '99', '49', '95'))}"
        if key == "date":
            return rng.choice(DATES)
        if key == "days":
            return str(rng.randint(3, 21))
        if key == "email":
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            domain = rng.choice(("gmail.com", "outlook.com", "example.org", "proton.me"))
            return f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@{domain}"
        if key == "feature":
            return rng.choice(vocabulary.features)
        if key == "device":
            return rng.choice(DEVICES)
        if key == "error":
            if vocabulary.error_style == "0x":
                return "0x" + "".join(rng.choice("0123456789ABCDEF") for _ in range(4))
            return f"E{rng.randint(100, 999)}"
        if key == "invoice":
            return f"INV-{rng.randint(2021, 2025)}-{rng.randint(1, 9999):04d}"
        if key == "last4":
            return "".join(rng.choice(string.digits) for _ in range(4))
        if key == "address":
            return f"{rng.randint(1, 240)} {rng.choice(STREETS)}, {rng.choice(CITIES)}"
        if key == "company":
            return rng.choice(COMPANIES)
        raise KeyError(f"unknown placeholder {{{key}}}")


def _typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    neighbours = KEYBOARD_NEIGHBOURS.get(word[i].lower())
    if not neighbours:
        return word[:i] + word[i + 1:]
    return word[:i] + rng.choice(neighbours) + word[i + 1:]


def _add_typos(rng: random.Random, text: str, rate: float) -> str:
    if rate == 0.0:
        return text
    words = text.split(" ")
    for index, word in enumerate(words):
        if len(word) >= 4 and word.isalpha() and rng.random() < rate:
            words[index] = _typo(rng, word)
    return " ".join(words)


def _signature(rng: random.Random) -> str:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    company = rng.choice(COMPANIES)
    return rng.choice((
        first, f"{first} {last}", f"Best regards,\n{first} {last}", f"Thanks,\n{first}",
        f"Kind regards, {first} {last}\n{company}", "Sent from my iPhone",
        f"-- \n{first} {last} | {company}", f"{first} {last}\n{company}", f"- {first}",
    ))


@dataclass(frozen=True)
class _Style:
    """Where a ticket's wordings come from."""

    vocabulary: Vocabulary
    held_out: Content | None         # the shifted slice's held-out wordings, when there are any
    contrast_rate: float             # share of tickets that name a request they are not about


def _ticket(rng: random.Random, intent: Intent, secondary: Intent | None, style: _Style,
            contrast: bool = False) -> str:
    vocabulary = style.vocabulary
    slots = _Slots(rng, vocabulary)
    held = style.held_out[intent.label] if style.held_out is not None else None
    phrasings = held.requests if held is not None else intent.phrasings
    details = held.details if held is not None and held.details else intent.details
    if contrast and secondary is not None:
        other = rng.choice(TOPICS[secondary.label]).format_map(_Slots(rng, vocabulary))
        body = [rng.choice(CONTRAST_FRAMES).format(
            main=rng.choice(TOPICS[intent.label]).format_map(slots), other=other)]
        secondary = None
    else:
        body = [rng.choice(phrasings).format_map(slots)]
        count = rng.choices((0, 1, 2), weights=(0.45, 0.4, 0.15))[0]
        body += [d.format_map(slots) for d in rng.sample(details, min(count, len(details)))]
    if secondary is not None:
        # In the shifted slice the side remark may be worded as in training: a familiar phrase
        # that lures a model matching phrases away from the unfamiliar main request.
        mentions = secondary.mentions
        if style.held_out is not None:
            mentions = style.held_out[secondary.label].mentions + mentions
        mention = rng.choice(mentions).format_map(slots)
        after_cues, before_cues = vocabulary.after_cues, vocabulary.before_cues
        if vocabulary.after_cues != SEEN_AFTER_CUES:
            after_cues, before_cues = after_cues + SEEN_AFTER_CUES, before_cues + SEEN_BEFORE_CUES
        if rng.random() < 0.75:
            body.append(rng.choice(after_cues) + mention + ".")
        else:
            body.insert(0, rng.choice(before_cues) + mention + ".")
    if rng.random() < 0.08:
        body.append(f"Order ref: {slots['order']}")
    if rng.random() < 0.5:
        body.append(rng.choice(vocabulary.closings))

    rate = rng.choices((0.0, 0.03, 0.08), weights=(0.4, 0.4, 0.2))[0]
    text = _add_typos(rng, " ".join(body), rate)
    parts = [text]
    if rng.random() < 0.7:
        parts.insert(0, rng.choice(vocabulary.greetings))
    if rng.random() < 0.6:
        parts.append(_signature(rng))
    separator = rng.choice(("\n", " ", "\n\n"))
    text = separator.join(parts)

    casing = rng.random()
    if casing < 0.08:
        text = text.lower()
    elif casing < 0.10:
        text = text.upper()
    elif casing < 0.18:
        text = text[0].lower() + text[1:]
    return text


def _label_counts(weights: Sequence[float], total: int) -> list[int]:
    """Exact class counts summing to total (largest remainder), at least one each."""
    norm = sum(weights)
    raw = [w / norm * total for w in weights]
    counts = [max(1, int(r)) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    index = 0
    while sum(counts) < total:
        counts[order[index % len(order)]] += 1
        index += 1
    while sum(counts) > total:
        largest = max(range(len(counts)), key=lambda i: (counts[i], -i))
        counts[largest] -= 1
    return counts


def _rows(rng: random.Random, size: int, style: _Style, *, two_intent_rate: float,
          flatten: float = 1.0) -> list[tuple[str, str]]:
    weights = [intent.weight ** flatten for intent in INTENTS]
    labels = [intent for intent, count in zip(INTENTS, _label_counts(weights, size), strict=True)
              for _ in range(count)]
    rng.shuffle(labels)
    rows = []
    for intent in labels:
        secondary = None
        contrast = rng.random() < style.contrast_rate
        if contrast or rng.random() < two_intent_rate:
            others = [i for i in INTENTS if i is not intent]
            # Drawn as the main intent is, so that in a contrast ticket neither role is more
            # likely to be the rarer intent: only the frame says which is the request.
            secondary = rng.choices(others, weights=[i.weight ** flatten for i in others])[0]
        rows.append((_ticket(rng, intent, secondary, style, contrast), intent.label))
    return rows


def _noisy(rng: random.Random, label: str) -> str:
    if rng.random() < 0.7:
        return rng.choice(CONFUSABLE[label])
    return rng.choice([other for other in LABELS if other != label])


def _public(public_seed: int, name: str, size: int) -> list[dict[str, str]]:
    rng = random.Random(f"finetune_small/{name}/{public_seed}")
    # Noise has its own stream, so the texts do not depend on the noise rate.
    noise = random.Random(f"finetune_small/{name}/noise/{public_seed}")
    seen, _ = _vocabularies(world(public_seed))
    style = _Style(vocabulary=seen, held_out=None,
                   contrast_rate=CONTRAST_RATE)
    rows = []
    for index, (text, label) in enumerate(_rows(rng, size, style,
                                                two_intent_rate=TWO_INTENT_RATE)):
        if noise.random() < LABEL_NOISE_RATE:
            label = _noisy(noise, label)
        rows.append({"id": f"{name}-{index:05d}", "text": text, "label": label})
    return rows


def public_splits(public_seed: int) -> dict[str, list[dict[str, str]]]:
    """The instance's public data: ``{"train": [...], "dev": [...]}``, rows {id, text, label}."""
    return {"train": _public(public_seed, "train", TRAIN_SIZE),
            "dev": _public(public_seed, "dev", DEV_SIZE)}


def hidden_split(public_seed: int, hidden_seed: int, held_out: Content | None
                 ) -> list[dict[str, str]]:
    """The hidden test rows {id, text, label, slice}; slice is "in_distribution" or "shifted".

    ``held_out``: the shifted slice's wordings (``content_for``); without them its main requests
    are worded as in training and every side remark is worded as another intent's request.
    """
    rng = random.Random(f"finetune_small/hidden/{public_seed}/{hidden_seed}")
    seen, new = _vocabularies(world(public_seed))
    in_distribution = _Style(vocabulary=seen, held_out=None, contrast_rate=CONTRAST_RATE)
    shifted = _Style(vocabulary=new, held_out=held_out,
                     contrast_rate=CONTRAST_RATE if held_out is not None
                     else SHIFTED_CONTRAST_RATE)
    tagged = [(text, label, "in_distribution") for text, label in
              _rows(rng, HIDDEN_SIZE - HIDDEN_SHIFTED, in_distribution,
                    two_intent_rate=TWO_INTENT_RATE)]
    tagged += [(text, label, "shifted") for text, label in
               _rows(rng, HIDDEN_SHIFTED, shifted, two_intent_rate=TWO_INTENT_RATE,
                     flatten=SHIFTED_FLATTEN)]
    rng.shuffle(tagged)
    return [{"id": f"test-{index:05d}", "text": text, "label": label, "slice": slice_}
            for index, (text, label, slice_) in enumerate(tagged)]


# --- the instance contract (grader.instance) ---------------------------------------------------

def public_files(seeds: Mapping[str, int]) -> dict[str, bytes]:
    """The instance's public data as mounted at /data: train.jsonl and dev.jsonl."""
    return {f"{name}.jsonl": to_jsonl(rows).encode("utf-8")
            for name, rows in public_splits(seeds["public"]).items()}


def hidden_items(seeds: Mapping[str, int]) -> list[dict[str, str]]:
    """The instance's hidden split, as the harness and the hidden tests evaluate it."""
    return hidden_split(seeds["public"], seeds["hidden"], content_for(seeds))


def to_jsonl(rows: Sequence[dict[str, str]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for train/dev.jsonl")
    parser.add_argument("--seed", type=int, help="the public seed (default: the published one)")
    args = parser.parse_args(argv)
    seeds = _published_seeds()
    if args.seed is not None:
        seeds["public"] = args.seed
    args.out.mkdir(parents=True, exist_ok=True)
    for name, content in public_files(seeds).items():
        (args.out / name).write_bytes(content)
        print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
