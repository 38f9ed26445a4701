"""The words of the generated government: agencies, governorates, topics and phrases.

Data only. Every host is under ``.example`` (RFC 2606), so no generated handle,
site or feed can collide with a real account.
"""

from __future__ import annotations

from typing import NamedTuple


class BaseAgency(NamedTuple):
    """A national body; regional offices are derived from it per governorate."""

    id: str
    en: str
    ar: str
    instance: str  # the Mastodon instance its accounts live on
    topics: tuple[tuple[str, str], ...]  # (English, Arabic) subjects of its posts


BASE_AGENCIES: tuple[BaseAgency, ...] = (
    BaseAgency("moh", "Ministry of Health", "وزارة الصحة", "social.moh.example", (
        ("the vaccination campaign", "حملة التطعيم"),
        ("the new health centre", "المركز الصحي الجديد"),
        ("hospital appointment booking", "حجز مواعيد المستشفى"))),
    BaseAgency("muscat", "Muscat Municipality", "بلدية مسقط", "social.gov.example", (
        ("road maintenance on the corniche", "صيانة طريق الكورنيش"),
        ("building permits", "تصاريح البناء"),
        ("the beach cleaning programme", "برنامج تنظيف الشواطئ"))),
    BaseAgency("police", "Police Directorate", "مديرية الشرطة", "social.police.example", (
        ("traffic safety week", "أسبوع المرور"),
        ("residence card renewal", "تجديد بطاقة الإقامة"),
        ("the lost property office", "مكتب المفقودات"))),
    BaseAgency("moe", "Ministry of Education", "وزارة التربية والتعليم", "social.gov.example", (
        ("school registration", "تسجيل الطلاب في المدارس"),
        ("the exam results", "نتائج الامتحانات"),
        ("school bus timetables", "جداول الحافلات المدرسية"))),
    BaseAgency("tourism", "Ministry of Tourism", "وزارة السياحة", "social.gov.example", (
        ("the heritage festival", "مهرجان التراث"),
        ("visitor centre opening hours", "مواعيد مركز الزوار"),
        ("tourist visas", "التأشيرات السياحية"))),
    BaseAgency("transport", "Ministry of Transport", "وزارة النقل", "social.gov.example", (
        ("the new bus routes", "خطوط الحافلات الجديدة"),
        ("road closures", "إغلاق الطرق"),
        ("driving licence renewal", "تجديد رخصة القيادة"))),
    BaseAgency("housing", "Ministry of Housing", "وزارة الإسكان", "social.gov.example", (
        ("housing loans", "القروض السكنية"),
        ("land allocation", "توزيع الأراضي"))),
    BaseAgency("agriculture", "Ministry of Agriculture and Fisheries", "وزارة الزراعة والثروة السمكية",
               "social.gov.example", (
                   ("the date harvest season", "موسم حصاد التمور"),
                   ("fishing licences", "تراخيص الصيد"))),
    BaseAgency("labour", "Ministry of Labour", "وزارة العمل", "social.gov.example", (
        ("work permits", "تصاريح العمل"),
        ("the national job fair", "معرض التوظيف الوطني"))),
    BaseAgency("heritage", "Ministry of Heritage and Culture", "وزارة التراث والثقافة", "social.gov.example", (
        ("museum opening hours", "مواعيد المتاحف"),
        ("the book fair", "معرض الكتاب"))),
    BaseAgency("environment", "Environment Authority", "هيئة البيئة", "social.env.example", (
        ("the turtle nesting season", "موسم تعشيش السلاحف"),
        ("the beach clean-up day", "يوم تنظيف الشاطئ"))),
    BaseAgency("civildefence", "Civil Defence and Ambulance Authority", "هيئة الدفاع المدني والإسعاف",
               "social.gov.example", (
                   ("the weather warning", "التحذير الجوي"),
                   ("fire safety inspections", "فحوصات السلامة من الحرائق"))),
)

# Regional offices multiply the agencies when a large government is generated.
GOVERNORATES: tuple[tuple[str, str, str], ...] = (
    ("dhofar", "Dhofar", "ظفار"),
    ("musandam", "Musandam", "مسندم"),
    ("buraimi", "Al Buraimi", "البريمي"),
    ("dakhiliyah", "Ad Dakhiliyah", "الداخلية"),
    ("nbatinah", "North Al Batinah", "شمال الباطنة"),
    ("sbatinah", "South Al Batinah", "جنوب الباطنة"),
    ("ssharqiyah", "South Ash Sharqiyah", "جنوب الشرقية"),
    ("nsharqiyah", "North Ash Sharqiyah", "شمال الشرقية"),
    ("dhahirah", "Ad Dhahirah", "الظاهرة"),
    ("wusta", "Al Wusta", "الوسطى"),
)

POSTS = {
    "en": ("Update on {topic}: the details are now on our website.",
           "Reminder: {topic} continues this week. Thank you for your cooperation.",
           "We are pleased to announce progress on {topic}.",
           "Today our teams visited the sites involved in {topic}.",
           "New guidance on {topic} has been published."),
    "ar": ("تحديث بشأن {topic}: التفاصيل متاحة الآن على موقعنا.",
           "تذكير: يستمر العمل في {topic} هذا الأسبوع. شكرا لتعاونكم.",
           "يسرنا الإعلان عن تقدم في {topic}.",
           "زارت فرقنا اليوم المواقع المعنية بـ{topic}.",
           "تم نشر إرشادات جديدة حول {topic}."),
}

QUESTIONS = {
    "en": ("When does {topic} start?", "Is there any news about {topic}?",
           "Where can I apply for {topic}?", "Who should I contact about {topic}?",
           "Why was {topic} delayed?"),
    "ar": ("متى يبدأ {topic}؟", "هل هناك أي جديد بخصوص {topic}؟", "أين يمكنني التقديم على {topic}؟",
           "بمن أتواصل بخصوص {topic}؟", "لماذا تأخر {topic}؟"),
}

# Not questions: with ``questions_only`` a check must not count these.
REMARKS = {
    "en": ("Thanks!", "Great work, thank you.", "Well done to the team."),
    "ar": ("شكرا", "شكرا لكم على الجهود", "عمل رائع، بارك الله فيكم"),
}

ANSWERS = {
    "en": ("Thank you for asking. {topic} starts next week; the details are on our website.",
           "Thanks for your message. Please call our service centre about {topic}.",
           "Good question: you can apply for {topic} online through our portal."),
    "ar": ("شكرا لسؤالك. يبدأ {topic} الأسبوع القادم، والتفاصيل على موقعنا.",
           "شكرا لتواصلك. يرجى الاتصال بمركز الخدمة بخصوص {topic}.",
           "سؤال جيد: يمكنك التقديم على {topic} إلكترونيا عبر البوابة."),
}

THANKS_REPLIES = {"en": ("You're welcome!", "Thank you for your support."),
                  "ar": ("عفوا، في خدمتكم", "شكرا لدعمكم")}

# (English name, Arabic name, username); citizens write in either language.
CITIZENS: tuple[tuple[str, str, str], ...] = (
    ("Salim Al-Harthi", "سالم الحارثي", "salim"),
    ("Aisha Al-Balushi", "عائشة البلوشي", "aisha_b"),
    ("Khalid Al-Rawahi", "خالد الرواحي", "khalid_r"),
    ("Maryam Al-Hinai", "مريم الهنائي", "maryam"),
    ("Yousuf Al-Saadi", "يوسف السعدي", "yousuf"),
    ("Fatma Al-Lawati", "فاطمة اللواتي", "fatma_l"),
    ("Jane Doe", "جين دو", "jane"),
    ("Ravi Kumar", "رافي كومار", "ravi"),
    ("Omar Al-Kindi", "عمر الكندي", "omar_k"),
    ("Huda Al-Amri", "هدى العامري", "huda"),
    ("Tom Baker", "توم بيكر", "tomb"),
    ("Noor Al-Busaidi", "نور البوسعيدي", "noor"),
)

# Citizens' home instances: None is the account's own instance, the rest are remote.
CITIZEN_HOMES: tuple[str | None, ...] = (None, None, "town.example", "mastodon.example", "people.example")

OFFICIAL = {"en": "Official account of the {agency}", "ar": "الحساب الرسمي لـ{agency}"}
"""The disclosure line of a site's description (an account built to break disclosure has none)."""

# A post that publishes a citizen's details (the personal_data check; the canary test finds
# none of these values in any output). Invented values, in the forms the detector knows.
LEAKY_POST = {"en": "Congratulations to the winner! Please call 9123 4567, write to winner.canary@example.com "
                    "and bring civil ID 19283746 to collect the prize.",
              "ar": "مبارك للفائز! يرجى الاتصال على ٩١٢٣٤٥٦٧ ومراسلة winner.canary@example.com "
                    "وإحضار الرقم المدني 19283746 لاستلام الجائزة."}
CANARIES = ("9123 4567", "91234567", "٩١٢٣٤٥٦٧", "winner.canary@example.com", "19283746")

STAFF = {"en": ("Web Team", "Communications Office"), "ar": ("فريق الموقع", "مكتب الاتصال")}
