"""The needs-answer detector's built-in word lists, per language (policy.yaml ``needs_answer`` adds to them).

Arabic entries are written plainly; the detector normalises them like the messages (no
diacritics or tatweel, one form of alef, ى → ي, ة → ه), and also matches them after a
leading و or ف ("وهل", "فمتى"). Phrases match on word boundaries.
"""

from __future__ import annotations

# Interrogatives that ask wherever they stand.
QUESTIONS = {
    "ar": [
        "هل", "متى", "كيف", "لماذا", "لم لا", "أين", "اين", "ماذا", "لماذا", "الى متى", "إلى متى", "لمتى",
        "كم سعر", "كم رسوم", "كم مدة", "كم المدة", "كم يوم", "كم تكلفة", "أي", "ايش", "إيش", "شو", "وش", "وشو",
        "شنو", "شنهو", "شنهي", "منو", "وين", "ليش", "ليه", "شلون", "كيفن", "متين", "بكم", "عساه", "هلا تخبروننا",
        "ما هو", "ما هي", "ما هي", "ما الذي", "ما المطلوب", "ما الاجراءات", "ما الإجراءات", "ما سبب", "ما موعد",
        "من المسؤول", "من الجهة", "من وين", "أليس", "اليس", "ألا يوجد", "ما في", "مافي", "فيه", "في أحد",
        "ولا لا", "او لا", "أو لا", "ام لا", "أم لا", "والا لا", "ولا شو", "ولا كيف",
    ],
    "en": ["any update", "any news", "anyone know", "is there any", "are there any", "i wonder", "wondering"],
}

# Interrogatives that ask only at the start of a sentence ("ما" and "من" are also "not" and "from").
LEADING_QUESTIONS = {
    "ar": ["ما", "من", "كم", "ماهو", "ماهي", "مين", "شو", "ايش"],
    "en": ["what", "when", "where", "why", "how", "who", "whom", "whose", "which", "is", "are", "do", "does", "did",
           "can", "could", "will", "would", "should", "shall", "have", "has", "may", "am i", "any"],
}

# Requests and complaints: they expect an answer or an action.
REQUESTS = {
    "ar": [
        "أرجو", "ارجو", "نرجو", "يرجى", "الرجاء", "رجاء", "رجاءا", "ممكن", "من فضلك", "من فضلكم", "لو سمحت",
        "لو سمحتوا", "لو تكرمتم", "تكرموا", "أريد", "اريد", "نريد", "ابغى", "ابغي", "أبغى", "ابي", "أبي", "نبي",
        "نبغى", "بغيت", "ودي", "أحتاج", "احتاج", "نحتاج", "محتاج", "محتاجين", "أطلب", "اطلب", "نطلب", "نطالب",
        "أطالب", "ساعدوني", "ساعدونا", "افيدونا", "أفيدونا", "افيدوني", "أفيدوني", "وضحوا", "وضحو", "طمنونا",
        "تكفون", "تكفى", "ياليت", "يا ليت", "ياريت", "يا ريت", "ليتكم", "اتمنى الرد", "أتمنى الرد", "ننتظر الرد",
        "انتظر الرد", "بانتظار الرد", "بانتظار ردكم", "تواصلوا معي", "تواصلو معي", "كلموني", "راسلوني",
        "شكوى", "اشتكي", "أشتكي", "مشكلة", "مشكله", "لم يتم", "لم يصل", "لم يصلني", "ما وصلني", "ما وصل",
        "ما حد رد", "محد رد", "محد يرد", "لا أحد يرد", "لا احد يرد", "لا يوجد رد", "بدون رد", "لا يعمل",
        "لا يفتح", "ما يشتغل", "ما يفتح", "ما يشتغلش", "عطل", "معطل", "خلل", "تأخير", "تاخير", "متأخر", "متاخر",
        "متى بيتم", "الى الان", "إلى الآن", "للحين", "لين الحين", "حتى الآن", "حتى الان", "سيء", "سيئة", "سيئه",
        "سوء", "مهزلة", "مهزله", "يا جماعة", "يا جماعه", "الموقع واقف", "التطبيق واقف", "طلبي", "معاملتي",
        "معطلة", "معطلين", "خطأ في", "خطا في", "ما حد", "محد", "لا أحد", "لا احد", "لم يرد", "ولم يتم",
        "انتظرت", "ننتظر", "بدون فائدة", "بلا فائدة", "حسبي الله", "حسبنا الله", "استفسار", "عندي سؤال",
        "لدي سؤال", "بلاغ", "بلغت", "رفعت بلاغ",
    ],
    "en": [
        "please", "pls", "plz", "kindly", "can you", "could you", "would you", "will you", "how do i", "how can i",
        "how to", "i need", "we need", "i want", "we want", "i would like", "i'd like", "help me", "help us",
        "need help", "let me know", "let us know", "advise", "dm me", "contact me", "get back to me",
        "i request", "requesting", "complaint", "not working", "doesn't work", "does not work",
        "isn't working", "is down", "broken", "error", "problem", "issue", "still waiting", "no response",
        "no reply", "no answer", "nobody answers", "can't", "cannot", "unable to", "won't", "never received",
        "haven't received", "has not been", "hasn't been", "delayed", "delay", "urgent", "asap", "unacceptable",
        "disappointed", "terrible", "fix it", "fix this", "been waiting", "waiting for", "need an answer",
        "still need", "not received", "didn't receive", "did not receive", "no one", "nobody",
    ],
}

# Thanks, greetings, praise, wishes: a message made only of these (and emoji) needs no answer.
NOT = {
    "ar": [
        "شكرا", "شكراً", "شكرًا", "شكرا جزيلا", "شكرا لكم", "شكرا لك", "الشكر لكم", "مشكورين", "مشكور", "مشكوره",
        "يعطيكم العافية", "يعطيك العافية", "يعطيكم العافيه", "الله يعطيكم العافية", "جزاكم الله خير",
        "جزاكم الله خيرا", "جزاك الله خير", "بارك الله فيكم", "بارك الله فيك", "الله يبارك فيكم", "تسلمون",
        "تسلم", "تسلمين", "الله يوفقكم", "وفقكم الله", "الله يحفظكم", "حفظكم الله", "ما شاء الله", "ماشاء الله",
        "تبارك الله", "الله يسعدكم", "أحسنتم", "احسنتم", "أحسنت", "احسنت", "ممتاز", "رائع", "رائعة", "روعة",
        "روعه", "جميل", "جميل جدا", "كفو", "كفووو", "عساكم عالقوة", "عساكم على القوة", "الله يعطيكم القوة",
        "مبروك", "ألف مبروك", "الف مبروك", "عيد مبارك", "عيدكم مبارك", "كل عام وانتم بخير", "كل عام وأنتم بخير",
        "رمضان كريم", "رمضان مبارك", "جمعة مباركة", "جمعه مباركه", "صباح الخير", "مساء الخير", "صباح النور",
        "مساء النور", "السلام عليكم", "السلام عليكم ورحمة الله", "السلام عليكم ورحمة الله وبركاته",
        "وعليكم السلام", "مرحبا", "أهلا", "اهلا", "هلا", "حياكم الله", "حياك الله", "الله يحييكم", "كيف الحال",
        "كيف حالكم", "كيف حالك", "شلونكم", "شخباركم", "عاشت الأيادي", "عاشت الايادي", "فخورين بكم", "نفخر بكم",
        "دام عزكم", "دمتم بخير", "دمتم", "الله يخليكم", "آمين", "امين", "اللهم آمين", "الحمد لله", "الحمدلله",
        "تمام", "اوكي", "ما اجمل", "ما أجمل", "ما احلى", "ما أحلى", "حفظ الله عمان", "حفظ الله السلطان",
        "يا سلام", "تم الحل", "الله يجزاكم خير", "بالتوفيق", "موفقين",
        "من اجمل", "من أجمل", "من افضل", "من أفضل", "من اروع", "من أروع", "من احسن", "كم انتم", "كم أنتم", "كم انت",
        "كم أنت", "كيف لا", "ما اروع", "ما أروع",
    ],
    "en": [
        "thanks", "thank you", "thank you so much", "thanks a lot", "many thanks", "thx", "ty", "great", "great job",
        "well done", "good job", "nice", "awesome", "amazing", "excellent", "wonderful", "love it", "love this",
        "congrats", "congratulations", "happy national day", "eid mubarak", "ramadan kareem", "good morning",
        "good evening", "hello", "hi", "hey", "hi there", "ok", "okay", "got it", "noted", "received", "resolved",
        "all good", "cheers", "appreciated", "much appreciated", "keep it up", "keep up the good work", "bravo",
        "proud", "so proud", "beautiful", "how wonderful", "how beautiful", "how great", "how nice",
        "how amazing", "how lovely", "what a", "thanks for the quick reply", "thank you for the quick reply",
    ],
}
