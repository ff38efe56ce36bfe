"""The Ozon emulator's fixed tables: statuses, cancel reasons, the seeded catalogue of products,
buyers and cities, FBO warehouses, and return statuses and reasons."""

from __future__ import annotations

from datetime import timedelta

FBS, RFBS = "FBS", "rFBS"
OPEN_STATUSES = (
    "awaiting_registration", "acceptance_in_progress", "awaiting_approve", "awaiting_packaging",
    "awaiting_deliver", "arbitration", "client_arbitration", "delivering", "driver_pickup", "not_accepted",
)
MAX_PERIOD = timedelta(days=366)
CANCEL_REASONS: tuple[tuple[int, str, str, bool], ...] = (
    # id, title, type_id, available for seller cancellation
    (352, "Товар закончился", "seller", True),
    (400, "Остался только бракованный товар", "seller", True),
    (401, "Отмена из арбитража", "seller", True),
    (402, "Другое (вина продавца)", "seller", True),
    (665, "Покупатель не забрал заказ", "seller", True),
    (666, "Возврат из службы доставки: нет доставки в указанный регион", "seller", True),
    (667, "Заказ утерян службой доставки", "seller", True),
    (501, "Покупатель отменил заказ", "buyer", False),
)
DELIVERY_ONLY_REASONS = frozenset({665, 666, 667})
DEFAULT_SUBSTATUS = {
    "awaiting_packaging": "posting_created",
    "awaiting_deliver": "posting_transferring_to_delivery",
    "arbitration": "posting_in_arbitration",
    "client_arbitration": "posting_in_client_arbitration",
    "delivering": "posting_on_way_to_city",
    "delivered": "posting_delivered",
    "cancelled": "posting_canceled",
    "not_accepted": "posting_not_in_sort_center",
    "awaiting_registration": "posting_awaiting_registration",
    "driver_pickup": "posting_driver_pick_up",
}

# Seeded catalogue: names a Russian shop would sell; one starts with "=" on purpose (it must stay text).
CATALOGUE = (
    ("Чайник электрический 1,7 л", "KET-17"), ("Кружка керамическая 350 мл", "MUG-350"),
    ("Набор отвёрток 12 шт.", "SCR-12"), ("Термос 0,5 л", "THR-05"), ("Фонарик налобный", "LMP-HD"),
    ("Полотенце махровое 70×140", "TWL-70"), ("Рюкзак городской", "BAG-CT"), ("Зарядка USB-C 30 Вт", "CHG-30"),
    ("Коврик для йоги", "YOG-01"), ("Сковорода 28 см", "PAN-28"), ("=) Смайл-магнит", "MAG-SM"),
    ("Лампа настольная", "LMP-DS"), ("Перчатки рабочие", "GLV-01"), ("Кабель HDMI 2 м", "HDM-2"),
)
NAMES = ("Иван П.", "Мария С.", "Алексей К.", "Ольга Н.", "Дмитрий В.", "Анна Л.")
CITIES = ("Москва", "Казань", "Екатеринбург", "Новосибирск", "Самара", "Тверь")

FBO_STATUSES = ("awaiting_packaging", "awaiting_deliver", "delivering", "delivered", "cancelled")
FBO_SUBSTATUS = {"awaiting_packaging": "posting_created", "awaiting_deliver": "posting_transferring_to_delivery",
                 "delivering": "posting_on_way_to_city", "delivered": "posting_delivered",
                 "cancelled": "posting_canceled"}
FBO_WAREHOUSES = ((15431806189000, "Хоругвино"), (1020000000010, "Казань"), (1020000000011, "Екатеринбург"))
# visual.status of a return: (id, sys_name, display_name). Ids are the emulator's own; Ozon's are not published.
RETURN_STATUSES = (
    (1, "DisputeOpened", "Открыт спор с покупателем"), (2, "OnSellerApproval", "На согласовании у продавца"),
    (3, "ArrivedAtReturnPlace", "В пункте выдачи"), (4, "MovingToSeller", "Едет к продавцу"),
    (5, "WaitingShipment", "Ожидает отправки"), (6, "ReceivedBySeller", "Получен продавцом"),
    (7, "Utilizing", "На утилизации"),
)
RETURN_REASONS = ("Не подошёл размер", "Товар с браком", "Не соответствует описанию", "Покупатель отказался")

# Products whose postings need item data before packing (the ``requirements`` of a posting): a seeded
# FBS/rFBS posting never draws them from CATALOGUE, so the plain seed stays as it was; ``marked=``
# seeds postings of these, and tests pass them to ``add_posting``. name, offer_id, what Ozon needs.
ITEM_CATALOGUE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Кроссовки беговые 42", "SHO-42", ("mandatory_mark",)),
    ("Духи «Ландыш» 50 мл", "PRF-50", ("mandatory_mark",)),
    ("Футболка хлопковая M", "TSH-M", ("mandatory_mark",)),
    ("Наушники беспроводные", "EAR-BT", ("gtd",)),
    ("Сыр весовой", "CHS-KG", ("weight",)),
    ("Зонт складной", "UMB-01", ("country",)),
)
# The requirements block of a posting: its key per kind of item data.
REQUIREMENT_KEYS = {
    "mandatory_mark": "products_requiring_mandatory_mark", "gtd": "products_requiring_gtd",
    "rnpt": "products_requiring_rnpt", "imei": "products_requiring_imei", "weight": "products_requiring_weight",
    "country": "products_requiring_country", "jw_uin": "products_requiring_jw_uin",
    "change_country": "products_requiring_change_country",
}
COUNTRIES = (("Россия", "RU"), ("Китай", "CN"), ("Беларусь", "BY"), ("Казахстан", "KZ"), ("Турция", "TR"),
             ("Италия", "IT"), ("Германия", "DE"), ("Вьетнам", "VN"))
