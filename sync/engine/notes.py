"""What the Синхронизация column says, in plain words (Russian by default, English with the English mapping).

Every note starts with the local time it was written, so a person sees how fresh it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

MESSAGES: dict[str, dict[str, str]] = {
    "ru": {
        "verified": "Готово: Ozon подтвердил «{label}»",
        "track_verified": "Готово: трек-номер {track} передан в Ozon",
        "sent": "Отправлено, ждём Ozon: «{label}»",
        "retry_ship": "Ozon не смог собрать отправление (ship_failed), пробуем ещё раз ({attempt} из {limit})",
        "ship_failed": "Не выполнено: Ozon не смог собрать отправление после {limit} попыток — проверьте в кабинете Ozon",
        "refused": "Не выполнено «{typed}»: Ozon отказал — {reason}",
        "not_allowed": "Не выполнено «{typed}»: Ozon сейчас не разрешает это для отправления в статусе «{current}».{choices}",
        "no_move": "Не выполнено «{typed}»: из статуса «{current}» так перевести нельзя.{choices}",
        "unknown_status": "Не понял статус «{typed}».{choices}",
        "choices": " Можно: {choices}.",
        "no_choices": " Сейчас изменить статус нельзя.",
        "ozon_moved": "Не выполнено «{typed}»: Ozon перевёл отправление в «{current}» ({time})",
        "ozon_cancelled": "Не выполнено «{typed}»: Ozon отменил отправление ({initiator}, {time})",
        "need_reason": "Укажите причину отмены (ждём до {until}). Варианты: {choices}",
        "bad_reason": "Не выполнено «{typed}»: не понял причину отмены «{reason}». Варианты: {choices}",
        "reason_no_message": "Не выполнено «{typed}»: для причины «Другое» напишите «Другое: ваш текст»",
        "reason_timeout": "Не выполнено «{typed}»: так и не указана причина отмены",
        "track_fbs": "Не выполнено: трек-номер «{typed}» для FBS назначает Ozon — вернули значение Ozon",
        "track_not_now": "Не выполнено: трек-номер «{typed}» Ozon сейчас не принимает (статус «{current}»)",
        "unrecorded_track": "Не отправлено: в Ozon трек-номер «{current}», в таблице был «{typed}», и неизвестно, кто его изменил (журнал синхронизации начат заново). Если нужен «{typed}», введите его снова",
        "reason_alone": "Причина отмены записана; чтобы отменить, поставьте статус «{label}»",
        "restored": "Столбец «{header}» заполняет Ozon — вернули значение Ozon (было «{typed}»)",
        "duplicate": "Отправление встречается в строках {rows} — удалите лишние копии; пока ничего не отправляем",
        "unknown_posting": "Отправление «{key}» не найдено в Ozon — проверьте номер",
        "restored_row": "Строка была удалена, а отправление ещё не завершено — вернули её",
        "truncated": "Текст от Ozon обрезан до {limit} символов (ограничение таблицы)",
        "unavailable": "Ozon не ответил, попробуем в следующем цикле",
        "account_unavailable": "Ozon не ответил по аккаунту «{account}», попробуем в следующем цикле",
        "account_key": "Ozon не принял ключ аккаунта «{account}» — правка ждёт, пока ключ не исправят в настройках",
        "unknown_account": "Аккаунт «{account}» не указан в настройках — проверьте столбец «Аккаунт» (есть: {accounts})",
        "in_view": "Отправление теперь в таблице «{view}» — меняйте его там; эту строку можно удалить",
        "in_main": "Отправление теперь в основной таблице — меняйте его там; эту строку можно удалить",
        "from_view": "Отправление перешло сюда из таблицы «{view}»",
        "from_main": "Отправление перешло сюда из основной таблицы",
        "dry_run": "(пробный запуск) отправили бы «{label}»",
        "item_wait": "{what}. «{typed}» отправим в Ozon, когда всё будет",
        "marks_missing": "нужно {need_codes} маркировки для «{name}» ({offer}), {given_words}",
        "marks_extra": "лишние коды в «Маркировка» ({count}): {codes} — товарам отправления нужно всего {need}",
        "marks_prefix": "«{prefix}:» в «Маркировка» — такого товара в отправлении нет (есть: {offers})",
        "marks_unplaced": "нужно {need_codes} маркировки ({per}), введено {given}; какой код к какому товару, не понять — начните строку с артикула: «{example}: код код»",
        "item_missing": "Ozon требует {what_words} для «{name}» ({offer}): укажите в настройках items → {offer} → {what}",
        "boxes_bad": "не понял число мест «{boxes}» — напишите целое число",
        "marks_not_needed": "Коды из «Маркировка» не отправлены: товарам этого отправления маркировка не нужна",
        "marks_repeated": "Код {codes} введён больше одного раза — учтён один раз",
        "marks_rejected": "Не отправлено «{typed}»: Ozon не принял {what} — исправьте в «Маркировка», и отправим снова",
        "mark_problem": "код {code} для «{name}»: {reason}",
        "item_problem": "данные «{name}»: {reason}",
        "label_refused": "Этикетки нет: Ozon отказал — {reason}. Распечатайте её в кабинете Ozon",
        "marks_checking": "Ozon проверяет коды маркировки, затем соберём: «{label}»",
    },
    "en": {
        "verified": "Done: Ozon confirmed «{label}»",
        "track_verified": "Done: tracking number {track} sent to Ozon",
        "sent": "Sent, waiting for Ozon: «{label}»",
        "retry_ship": "Ozon could not pack the posting (ship_failed); trying again ({attempt} of {limit})",
        "ship_failed": "Not done: Ozon could not pack the posting after {limit} tries — check it in the Ozon cabinet",
        "refused": "Not done «{typed}»: Ozon refused — {reason}",
        "not_allowed": "Not done «{typed}»: Ozon does not allow it now for a posting in «{current}».{choices}",
        "no_move": "Not done «{typed}»: a posting in «{current}» cannot be moved like that.{choices}",
        "unknown_status": "Unknown status «{typed}».{choices}",
        "choices": " Allowed: {choices}.",
        "no_choices": " The status cannot be changed now.",
        "ozon_moved": "Not done «{typed}»: Ozon moved the posting to «{current}» ({time})",
        "ozon_cancelled": "Not done «{typed}»: Ozon cancelled the posting ({initiator}, {time})",
        "need_reason": "Give a cancel reason (waiting until {until}). Choices: {choices}",
        "bad_reason": "Not done «{typed}»: unknown cancel reason «{reason}». Choices: {choices}",
        "reason_no_message": "Not done «{typed}»: for «Other» write «Other: your words»",
        "reason_timeout": "Not done «{typed}»: no cancel reason was given",
        "track_fbs": "Not done: Ozon assigns tracking numbers for FBS («{typed}») — Ozon's value restored",
        "track_not_now": "Not done: Ozon does not take tracking number «{typed}» now (status «{current}»)",
        "unrecorded_track": "Not sent: Ozon has tracking number «{current}», the sheet had «{typed}», and who changed it is not known (the sync's record was started anew). If «{typed}» is right, type it again",
        "reason_alone": "Cancel reason noted; to cancel, set the status to «{label}»",
        "restored": "Column «{header}» comes from Ozon — Ozon's value restored (was «{typed}»)",
        "duplicate": "The posting is in rows {rows} — delete the extra copies; nothing is sent until then",
        "unknown_posting": "Posting «{key}» is not known to Ozon — check the number",
        "restored_row": "The row was deleted while the posting is still open — it is back",
        "truncated": "Text from Ozon cut to {limit} characters (the spreadsheet's limit)",
        "unavailable": "Ozon did not answer; trying again next cycle",
        "account_unavailable": "Ozon did not answer for account «{account}»; trying again next cycle",
        "account_key": "Ozon refused the key of account «{account}» — the edit waits until the key is fixed in the config",
        "unknown_account": "Account «{account}» is not in the config — check the Account column (known: {accounts})",
        "in_view": "The posting is now in the spreadsheet «{view}» — change it there; this row may be deleted",
        "in_main": "The posting is now in the main spreadsheet — change it there; this row may be deleted",
        "from_view": "The posting moved here from the spreadsheet «{view}»",
        "from_main": "The posting moved here from the main spreadsheet",
        "dry_run": "(dry run) would send «{label}»",
        "item_wait": "{what}. «{typed}» goes to Ozon once everything is there",
        "marks_missing": "needs {need_codes} for «{name}» ({offer}), {given_words}",
        "marks_extra": "extra codes in «Marking codes» ({count}): {codes} — the posting's products need {need} in all",
        "marks_prefix": "«{prefix}:» in «Marking codes» names no product of this posting (it has: {offers})",
        "marks_unplaced": "needs {need_codes} ({per}), {given} given; which code is whose cannot be told — start each line with the offer id: «{example}: code code»",
        "item_missing": "Ozon needs the {what_words} of «{name}» ({offer}): set items → {offer} → {what} in the config",
        "boxes_bad": "the box count «{boxes}» is not a whole number",
        "marks_not_needed": "The codes in «Marking codes» were not sent: no product of this posting needs them",
        "marks_repeated": "Code {codes} was typed more than once — counted once",
        "marks_rejected": "Not sent «{typed}»: Ozon refused {what} — correct it in «Marking codes» and it goes again",
        "mark_problem": "code {code} for «{name}»: {reason}",
        "item_problem": "the data of «{name}»: {reason}",
        "label_refused": "No label: Ozon refused it — {reason}. Print it from Ozon's seller account",
        "marks_checking": "Ozon is checking the marking codes; then it is packed: «{label}»",
    },
}

# Plain meanings of Ozon's refusal codes, for notes.
OZON_REASONS: dict[str, dict[str, str]] = {
    "ru": {
        "TRANSITION_IS_NOT_POSSIBLE": "такой переход статуса невозможен",
        "HAS_INCORRECT_TPL_INTEGRATION_TYPE": "статусы этого отправления ставит служба доставки, не продавец",
        "POSTING_ALREADY_SHIPPED": "отправление уже собрано",
        "POSTING_ALREADY_CANCELLED": "отправление уже отменено",
        "HAS_INCORRECT_CANCEL_REASON": "эта причина отмены не подходит для отправления",
        "HAS_INCORRECT_PRODUCT_QUANTITY": "количество товаров не совпадает",
        "SHIP_NOT_AVAILABLE": "сборка сейчас недоступна",
        "EXEMPLAR_INFO_NOT_FILLED_COMPLETELY": "не заполнены данные экземпляров (маркировка, ГТД) — заполните «Маркировка» или items в настройках",
        "MARK_FORMAT_INVALID": "не того вида — проверьте, что сканер передаёт разделитель GS",
        "MARK_DUPLICATED": "уже указан для другого товара",
        "MARK_NOT_IN_CIRCULATION": "не в обороте в «Честном ЗНАКе»",
        "INCORRECT_OVH_FOR_POSTING": "вес или габариты превышают ограничения",
        "POSTING_NOT_FOUND": "отправление не найдено",
    },
    "en": {
        "TRANSITION_IS_NOT_POSSIBLE": "that status change is not possible",
        "HAS_INCORRECT_TPL_INTEGRATION_TYPE": "the delivery service sets this posting's statuses, not the seller",
        "POSTING_ALREADY_SHIPPED": "the posting is already packed",
        "POSTING_ALREADY_CANCELLED": "the posting is already cancelled",
        "HAS_INCORRECT_CANCEL_REASON": "this cancel reason does not fit the posting",
        "HAS_INCORRECT_PRODUCT_QUANTITY": "product quantities do not match",
        "SHIP_NOT_AVAILABLE": "packing is not available now",
        "EXEMPLAR_INFO_NOT_FILLED_COMPLETELY": "item data (marks, customs) is missing — fill «Marking codes» or items in the config",
        "MARK_FORMAT_INVALID": "not of the right shape — check the scanner sends the GS separator",
        "MARK_DUPLICATED": "already given for another item",
        "MARK_NOT_IN_CIRCULATION": "not in circulation in Chestny ZNAK",
        "INCORRECT_OVH_FOR_POSTING": "weight or size exceeds the limits",
        "POSTING_NOT_FOUND": "posting not found",
    },
}


# items.<offer>.<key> as a note names it.
ITEM_WORDS = {
    "ru": {"gtd": "номер ГТД", "rnpt": "РНПТ", "country": "страну производства", "weight": "вес"},
    "en": {"gtd": "customs declaration (GTD) number", "rnpt": "RNPT", "country": "country of origin",
           "weight": "weight"},
}


def _codes(language: str, n: int) -> str:
    if language == "en":
        return f"{n} marking code" + ("" if n == 1 else "s")
    one, few = n % 10 == 1 and n % 100 != 11, 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14
    return f"{n} " + ("код" if one else "кода" if few else "кодов")


def _given(language: str, n: int) -> str:
    if language == "en":
        return "none given" if n == 0 else f"{n} given"
    if n == 0:
        return "не введено ни одного"
    return f"введён {n}" if n % 10 == 1 and n % 100 != 11 else f"введено {n}"


class Notes:
    """Formats notes in one language and time zone."""

    def __init__(self, language: str, tz: ZoneInfo):
        self.language = language if language in MESSAGES else "ru"
        self.tz = tz

    def text(self, kind: str, **values: object) -> str:
        return MESSAGES[self.language][kind].format(**values)

    def stamp(self, now: datetime, kind: str, **values: object) -> str:
        return f"{self.clock(now)} {self.text(kind, **values)}"

    def clock(self, t: datetime) -> str:
        return t.astimezone(self.tz).strftime("%d.%m %H:%M")

    def choices(self, options: list[str]) -> str:
        if not options:
            return self.text("no_choices")
        return self.text("choices", choices=", ".join(f"«{o}»" for o in options))

    def item_wait(self, now: datetime, waits: Sequence[tuple[str, Mapping[str, object]]], typed: str) -> str:
        """One note for everything a ship still waits for (sync.engine.itemplan.Wait kinds)."""
        what = "; ".join(self.part(kind, values) for kind, values in waits)
        return self.stamp(now, "item_wait", what=what[:1].upper() + what[1:], typed=typed)

    def part(self, kind: str, values: Mapping[str, object]) -> str:
        """One thing a ship waits for, in words (counts in the language's plural forms)."""
        out = dict(values)
        if kind in ("marks_missing", "marks_unplaced"):
            need, given = int(str(values["need"])), int(str(values["given"]))
            out["need_codes"] = _codes(self.language, need)
            out["given_words"] = _given(self.language, given)
        if kind == "item_missing":
            out["what_words"] = ITEM_WORDS[self.language].get(str(values["what"]), values["what"])
        return self.text(kind, **out)

    def ozon_reason(self, code: str, message: str) -> str:
        plain = OZON_REASONS[self.language].get(code)
        return f"{plain} ({code})" if plain else (message or code)
