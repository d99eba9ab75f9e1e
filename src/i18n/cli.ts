/**
 * The CLI's words: messages, prompts, warnings, errors, help and receipts,
 * in English and Latin American Spanish (plain and warm, for a person who may
 * be frightened and is not technical). Keys are "cli.*".
 *
 * Machine-readable output (--format json/ndjson/csv) is never translated.
 */
export const cli = {
  en: {
    "cli.confirm.suffix": "[{yes}/N]",
    "cli.confirm.accepts": "(answer {words} to go on; anything else stops)",
    "cli.withdraw.confirm": {
      one: "Withdraw {count} hash of case {caseId}? Platforms will stop blocking copies of that picture.",
      other: "Withdraw {count} hashes of case {caseId}? Platforms will stop blocking copies of those pictures.",
    },
    "cli.withdraw.declined": "Nothing was withdrawn.",
    "cli.withdraw.needsYes": "withdrawing cannot be undone, and there is no terminal to ask you: add --yes to withdraw without being asked",
  },
  es: {
    "cli.confirm.suffix": "[{yes}/N]",
    "cli.confirm.accepts": "(responde {words} para seguir; cualquier otra cosa lo detiene)",
    "cli.withdraw.confirm": {
      one: "¿Retirar {count} huella del caso {caseId}? Las plataformas dejarán de bloquear copias de esa foto.",
      other: "¿Retirar {count} huellas del caso {caseId}? Las plataformas dejarán de bloquear copias de esas fotos.",
    },
    "cli.withdraw.declined": "No se retiró nada.",
    "cli.withdraw.needsYes": "retirar no se puede deshacer y no hay una terminal para preguntarte: agrega --yes para retirar sin que se te pregunte",
  },
} as const;
