"""Synthetic customer-support tickets, generated from a seed: the public splits and the hidden one.

Trusted code: it lives in ``hidden/`` and never enters a candidate container. The public train and
dev splits are committed in ``candidate/data/`` (regenerate them with the command below and the
``public`` seed of ``assignment.yaml``); the hidden split is only ever built in memory by the
harness and the hidden tests, from the ``hidden`` seed a deployment may override privately.

    python assignments/finetune_small/hidden/generate.py --seed 6106 \\
        --out assignments/finetune_small/candidate/data

What makes the tickets realistic enough to separate methods:

- 14 intents with imbalanced frequencies (13% down to 2%);
- noise: typos, all-lower or all-caps tickets, greetings, closings and signatures, order numbers,
  e-mail addresses, amounts and dates;
- two-intent tickets: a quarter mention a second intent after (or before) the main request, behind
  a cue ("Also, ...", "Not my main question, but ..."); the label is the main request's intent;
- label noise: 3% of public rows carry a wrong label, mostly a confusable intent; hidden labels are
  clean, so the hidden metrics measure the model, not the noise;
- a shifted slice in the hidden split (``slice == "shifted"``): main requests, details, greetings,
  closings, product names, plan names and feature names that never occur in the public splits.
  Side remarks of two-intent tickets there use new or training wordings alike, so a familiar phrase
  can pull a phrase-matching model away from the unfamiliar main request. Its classes are less
  imbalanced (weights raised to the power 0.5) so its macro-F1 does not hang on a handful of rows.

Everything is drawn from ``random.Random`` seeded with strings, so the output is the same bytes on
every machine and Python version (string seeds are hashed with SHA-512, not ``hash()``).
"""

from __future__ import annotations

import argparse
import json
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEV_SIZE",
    "HIDDEN_SHIFTED",
    "HIDDEN_SIZE",
    "INTENTS",
    "LABELS",
    "TRAIN_SIZE",
    "hidden_split",
    "public_splits",
    "to_jsonl",
    "write_public",
]

TRAIN_SIZE = 2000
DEV_SIZE = 400
HIDDEN_SIZE = 1000
HIDDEN_SHIFTED = 400          # rows of the hidden split that form the shifted slice
TWO_INTENT_RATE = 0.25
LABEL_NOISE_RATE = 0.03       # public splits only
SHIFTED_FLATTEN = 0.5         # the shifted slice's class weights are weights ** this


@dataclass(frozen=True)
class Intent:
    """One label: phrasings seen in the public splits, and held-out ones for the shifted slice."""

    label: str
    weight: float
    phrasings: tuple[str, ...]
    details: tuple[str, ...]
    mentions: tuple[str, ...]           # a secondary-intent clause, lower case, no full stop
    shifted: tuple[str, ...]
    shifted_details: tuple[str, ...]
    shifted_mentions: tuple[str, ...]


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
        shifted=(
            "The {product} turned out to be useless for me, so I'm hoping you can reimburse "
            "what I paid.",
            "Could the {amount} I spent on the {product} be credited back to my card? I've "
            "already posted it to your warehouse.",
            "I shipped the {product} back to you; when will I see the payment reversed on my "
            "bank account?",
            "I'd like to be compensated for the {product}, it fell apart after one use and I'm "
            "sending it back.",
            "Please reimburse me for purchase {order}, I no longer need the item and it's "
            "unopened.",
            "I'm not keeping the {product}. How do I recover the {amount} I paid?",
            "You have my {product} back in your hands since {date}, so where is my cash?",
        ),
        shifted_details=(
            "It's still sealed in its wrapping.",
            "A store credit won't do, I want the cash.",
            "The courier gave me a receipt when they collected it.",
        ),
        shifted_mentions=(
            "I'm hoping to be reimbursed for the other purchase too",
            "the {product2} also needs to be paid back to me",
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
        shifted=(
            "Still no sign of the {product} I bought on {date}, the parcel seems lost somewhere "
            "in transit.",
            "The courier app has said 'in transit' for ages and nothing has turned up at my "
            "door.",
            "I've been waiting almost two weeks for the {product} to show up. Has it gone "
            "missing?",
            "Has parcel {order} even left your warehouse? Nothing has reached me.",
            "The {product} was promised for {date} but my mailbox is still empty.",
            "Your dispatch estimate was way off, my purchase still hasn't reached me.",
            "How much longer until the {product} gets here? I'm sitting at home waiting.",
        ),
        shifted_details=(
            "I even paid the premium postage.",
            "The neighbours haven't received anything on my behalf either.",
            "It was meant to be a birthday present.",
        ),
        shifted_mentions=(
            "another parcel of mine is nowhere to be seen",
            "the {product2} hasn't turned up either",
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
        shifted=(
            "I can't recall the secret phrase I use to sign on. Could you help me choose a new "
            "one?",
            "The email with the link to set new credentials never reaches my inbox.",
            "My passcode isn't accepted any more and I no longer remember what it was.",
            "How do I create fresh sign-in details? The old ones slipped my mind.",
            "The 'set a new passphrase' link you mailed me has gone stale.",
            "I blanked on the code I use to get into the {product} dashboard, how do I pick a "
            "new one?",
        ),
        shifted_details=(
            "I looked through the junk mail too.",
            "I'm using {email} for it.",
        ),
        shifted_mentions=(
            "I also can't recall my sign-on phrase",
            "I need new sign-in details as well",
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
        shifted=(
            "My bank lists a {amount} debit from your company that I never authorised.",
            "Someone at your end took payment two times for the same month.",
            "The total you deducted on {date} doesn't match the price I agreed to.",
            "I'm contesting a transaction of {amount} you took from my card ending {last4}.",
            "Your system pulled funds from my account even though I'd already stopped the "
            "service.",
            "Why did {amount} leave my account on {date}? That's not a price I ever accepted.",
        ),
        shifted_details=(
            "My bank told me to raise it with you first.",
            "I've kept the transaction reference.",
        ),
        shifted_mentions=(
            "I'm also querying an odd debit from last month",
            "a payment of {amount} was taken twice as well",
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
        shifted=(
            "I'd like to end my membership with you at the close of this cycle and not be "
            "renewed.",
            "Please terminate the service for {email}, we're switching to a competitor.",
            "Time to part ways: close my {plan} tier and stop it renewing.",
            "I'm done with the service, how do I quit for good?",
            "Don't renew me next month, I'm leaving.",
            "We've decided to stop using your product; please wind down our contract.",
        ),
        shifted_details=(
            "We found a cheaper tool.",
            "No need for a retention call.",
        ),
        shifted_mentions=(
            "I may walk away from the service altogether",
            "we're considering ending the contract",
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
        shifted=(
            "Whenever I tap the share icon, the whole {product} screen goes white and I'm "
            "kicked to the home screen.",
            "Something's off with the latest version: buttons stopped responding on my "
            "{device}.",
            "The numbers on the summary tab are wrong after midnight, looks like a glitch.",
            "Your software just spins forever and then shuts itself down on {device}.",
            "Code {error} pops up every time I attach a photo. Clearly a defect on your side.",
            "Half the menu vanished after yesterday's version and the rest is unclickable.",
        ),
        shifted_details=(
            "A fresh install made no difference.",
            "My colleague sees the same thing on her machine.",
        ),
        shifted_mentions=(
            "the screen also goes white now and then",
            "there's another glitch when I attach files",
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
        shifted=(
            "The system froze my profile after a few failed tries and now nothing lets me in.",
            "I'm shut out of my workspace: a banner says access is restricted pending review.",
            "Your security check has barred me from getting in since {date}. Can you lift it?",
            "My user is frozen. The details I type are right but it refuses entry.",
            "Access to my profile was deactivated without warning, please restore it.",
            "Some automated guard banned my login and I can't get through the door.",
        ),
        shifted_details=(
            "I haven't broken any rules.",
            "My whole team depends on me getting back in today.",
        ),
        shifted_mentions=(
            "my teammate's profile is frozen too",
            "I'm also barred from the admin area",
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
        shifted=(
            "Our team outgrew the {plan} tier, we'd like the bigger package.",
            "Could we step down to something cheaper than {plan}? We only use a fraction of it.",
            "Is it possible to go to a higher tier and pay yearly instead?",
            "We need room for ten more colleagues, what's the next level up from {plan}?",
            "I'd like a smaller package starting next month.",
            "Move us onto the {plan2} tier, the current one is too limited.",
        ),
        shifted_details=(
            "Any difference in price should apply from today.",
            "We're hiring quickly this quarter.",
        ),
        shifted_mentions=(
            "we may want the bigger package soon",
            "we'll probably step down a tier later",
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
        shifted=(
            "For my expense report I need the official paperwork showing what I paid on "
            "{date}.",
            "Our bookkeeper is asking for a billing document for purchase {order}.",
            "Could you produce a receipt with our business address for tax purposes?",
            "I lost the statement you issued for {amount}, can I have another?",
            "Accounts payable needs proof of purchase with the tax breakdown.",
            "Please mail the paperwork for the {amount} transaction to our finance team.",
        ),
        shifted_details=(
            "It must show {company} as the buyer.",
            "Our auditors want it by Friday.",
        ),
        shifted_mentions=(
            "our bookkeeper needs the paperwork for it too",
            "please include a receipt for the tax office",
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
        shifted=(
            "Have you thought about offering {feature}? I'd pay extra for it.",
            "My wish for the roadmap: {feature}.",
            "It'd be handy if one day the product supported {feature}.",
            "Would your developers consider building {feature}?",
            "Idea for you: {feature}. It's the one thing I'm missing.",
        ),
        shifted_details=(
            "Happy to beta test it.",
            "Half our office keeps asking me about it.",
        ),
        shifted_mentions=(
            "an idea for your roadmap is {feature}",
            "I'd pay extra for {feature}",
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
        shifted=(
            "We relocated last month; the parcel for {order} should go to {address} instead.",
            "Please redirect my purchase to my office at {address}.",
            "I typed my street wrong at checkout, can the courier bring it to {address}?",
            "My home details in your system are outdated, I live at {address} now.",
            "Send the {product} to my new place at {address}, not the old flat.",
        ),
        shifted_details=(
            "The old flat is empty now.",
            "Reception at the office signs for parcels.",
        ),
        shifted_mentions=(
            "I live at {address} now",
            "please send future parcels to {address}",
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
        shifted=(
            "I'd like to take everything I've stored with you and move it to another tool. "
            "How do I get it all out?",
            "Is there a way to grab a full archive of my notes and attachments?",
            "We need a dump of our workspace in a spreadsheet-friendly format.",
            "How do I back up all my records to my own computer?",
            "Could you package up all my content so I can keep it offline?",
        ),
        shifted_details=(
            "A zip file is fine.",
            "Our new tool can read spreadsheets.",
        ),
        shifted_mentions=(
            "I'd like an archive of my stuff too",
            "I want a backup of all my records",
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
        shifted=(
            "Under the privacy law of my country I'm entitled to see every record you keep on "
            "me. Please send it.",
            "Erase anything that identifies me from your databases, I don't consent any more.",
            "Which details about me have you stored and who did you share them with?",
            "I want to be forgotten by your company entirely.",
            "Please wipe my name, address and phone number from all your records.",
        ),
        shifted_details=(
            "I withdraw every consent I gave.",
            "The regulator will hear from me if this is ignored.",
        ),
        shifted_mentions=(
            "afterwards I want to be forgotten entirely",
            "please erase anything that identifies me",
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
        shifted=(
            "My bank issued me a new debit card ending {last4}; where do I enter it so the "
            "next charge goes through?",
            "I'd like future payments to come from a different account. How do I swap it?",
            "The card you have for me is out of date, I'll give you a fresh one.",
            "Can I pay with Apple Pay instead of the Visa you have saved?",
            "Where in the settings do I put the details of my replacement debit card?",
        ),
        shifted_details=(
            "The old one was lost.",
            "I don't want any gap in the service.",
        ),
        shifted_mentions=(
            "I also want future payments from a different account",
            "I have a replacement debit card to give you",
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


@dataclass(frozen=True)
class Vocabulary:
    """Surface material that is not intent-specific: the shifted slice has its own."""

    products: tuple[str, ...]
    plans: tuple[str, ...]
    features: tuple[str, ...]
    devices: tuple[str, ...]
    greetings: tuple[str, ...]
    closings: tuple[str, ...]
    after_cues: tuple[str, ...]      # before a secondary intent placed after the main one
    before_cues: tuple[str, ...]     # before a secondary intent placed first


SEEN = Vocabulary(
    products=("Nimbus Pro", "Nimbus Mini", "Orbit X2 router", "Pulse earbuds",
              "Atlas standing desk", "Lumen desk lamp", "Vela backpack", "Cirrus Drive",
              "Terra water bottle", "Flux keyboard", "Aero fan", "Nova webcam"),
    plans=("Basic", "Plus", "Pro", "Business"),
    features=("dark mode", "CSV import", "keyboard shortcuts", "a Slack integration",
              "shared folders", "offline mode", "recurring reminders", "bulk editing",
              "two-way calendar sync", "custom fields"),
    devices=("iPhone", "Android", "Chrome", "Firefox", "Windows", "my Mac", "iPad", "Safari"),
    greetings=("Hi,", "Hello,", "Hi team,", "Hello support,", "Dear Support Team,",
               "Hey there,", "Good morning,", "Hi there!", "To whom it may concern,", "hey"),
    closings=("Thanks.", "Thanks in advance!", "Please help.",
              "Looking forward to hearing from you.", "Any help is appreciated.",
              "This is urgent, please respond asap.", "Thank you for your help.", "Cheers."),
    after_cues=("Also, ", "Separately, ", "P.S. ", "One more thing: ", "Unrelated, but ",
                "Oh and ", "Side note: "),
    before_cues=("Not my main question, but ", "Before I forget, ", "First a small thing: "),
)

SHIFTED = Vocabulary(
    products=("Quasar hub", "Zephyr smartwatch", "Kestrel dashcam", "Tidal speaker",
              "Marlow blender", "Juniper e-reader", "Solace pillow", "Vertex drone"),
    plans=("Starter", "Scale", "Enterprise", "Premium"),
    features=("a home screen widget", "voice commands", "a Linux desktop client",
              "a Zapier connection", "colour-coded tags", "a smartwatch companion app"),
    devices=("Samsung tablet", "Edge", "Linux laptop", "Pixel phone", "Chromebook"),
    greetings=("Hi,", "Hello,", "Greetings,", "Morning folks,", "Dear Sir or Madam,",
               "Hey support people,", "Good afternoon,"),
    closings=("Much obliged.", "Appreciate a quick answer.", "Thanks.",
              "Hope you can sort this out.", "Regards."),
    after_cues=("Btw, ", "Another small thing - ", "On a different topic, ", "Additionally, "),
    before_cues=("Minor point first: ", "Quick aside before the real issue: "),
)

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
            return rng.choice(vocabulary.devices)
        if key == "error":
            if vocabulary is SHIFTED:
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


def _ticket(rng: random.Random, intent: Intent, secondary: Intent | None, shifted: bool) -> str:
    vocabulary = SHIFTED if shifted else SEEN
    slots = _Slots(rng, vocabulary)
    phrasings = intent.shifted if shifted else intent.phrasings
    details = intent.shifted_details if shifted else intent.details
    body = [rng.choice(phrasings).format_map(slots)]
    count = rng.choices((0, 1, 2), weights=(0.45, 0.4, 0.15))[0]
    body += [d.format_map(slots) for d in rng.sample(details, min(count, len(details)))]
    if secondary is not None:
        # In the shifted slice the side remark may be worded as in training: a familiar phrase
        # that lures a model matching phrases away from the unfamiliar main request.
        mentions = secondary.mentions
        after_cues, before_cues = SEEN.after_cues, SEEN.before_cues
        if shifted:
            mentions = secondary.shifted_mentions + secondary.mentions
            after_cues = SHIFTED.after_cues + after_cues
            before_cues = SHIFTED.before_cues + before_cues
        mention = rng.choice(mentions).format_map(slots)
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


def _rows(rng: random.Random, size: int, *, shifted: bool, flatten: float = 1.0
          ) -> list[tuple[str, str]]:
    weights = [intent.weight ** flatten for intent in INTENTS]
    labels = [intent for intent, count in zip(INTENTS, _label_counts(weights, size), strict=True)
              for _ in range(count)]
    rng.shuffle(labels)
    rows = []
    for intent in labels:
        secondary = None
        if rng.random() < TWO_INTENT_RATE:
            others = [i for i in INTENTS if i is not intent]
            secondary = rng.choices(others, weights=[i.weight for i in others])[0]
        rows.append((_ticket(rng, intent, secondary, shifted), intent.label))
    return rows


def _noisy(rng: random.Random, label: str) -> str:
    if rng.random() < 0.7:
        return rng.choice(CONFUSABLE[label])
    return rng.choice([other for other in LABELS if other != label])


def _public(seed: int, name: str, size: int) -> list[dict[str, str]]:
    rng = random.Random(f"finetune_small/{name}/{seed}")
    # Noise has its own stream, so the texts do not depend on the noise rate.
    noise = random.Random(f"finetune_small/{name}/noise/{seed}")
    rows = []
    for index, (text, label) in enumerate(_rows(rng, size, shifted=False)):
        if noise.random() < LABEL_NOISE_RATE:
            label = _noisy(noise, label)
        rows.append({"id": f"{name}-{index:05d}", "text": text, "label": label})
    return rows


def public_splits(seed: int) -> dict[str, list[dict[str, str]]]:
    """The committed public data: ``{"train": [...], "dev": [...]}``, rows {id, text, label}."""
    return {"train": _public(seed, "train", TRAIN_SIZE), "dev": _public(seed, "dev", DEV_SIZE)}


def hidden_split(seed: int) -> list[dict[str, str]]:
    """The hidden test rows {id, text, label, slice}; slice is "in_distribution" or "shifted"."""
    rng = random.Random(f"finetune_small/hidden/{seed}")
    tagged = [(text, label, "in_distribution")
              for text, label in _rows(rng, HIDDEN_SIZE - HIDDEN_SHIFTED, shifted=False)]
    tagged += [(text, label, "shifted") for text, label in
               _rows(rng, HIDDEN_SHIFTED, shifted=True, flatten=SHIFTED_FLATTEN)]
    rng.shuffle(tagged)
    return [{"id": f"test-{index:05d}", "text": text, "label": label, "slice": slice_}
            for index, (text, label, slice_) in enumerate(tagged)]


def to_jsonl(rows: Sequence[dict[str, str]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_public(seed: int, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in public_splits(seed).items():
        path = out / f"{name}.jsonl"
        path.write_text(to_jsonl(rows), encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True, help="the public seed")
    parser.add_argument("--out", type=Path, required=True, help="folder for train/dev.jsonl")
    args = parser.parse_args(argv)
    for path in write_public(args.seed, args.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
