/**
 * The server's problem+json texts (RFC 9457), in English and Spanish, chosen
 * per request by Accept-Language (src/server/middleware/lang.ts). Keys are
 * "server.*".
 *
 * `server.title.<code>`: the title of each kind of problem (the English ones
 * are PROBLEMS' titles in src/protocol/problem.ts, word for word; a unit test
 * holds them equal). The rest: the `detail` of one occurrence, with
 * parameters. `type`, `status` and `errors[].code` never change with the
 * language; clients branch on those. Names of headers, parameters, scopes and
 * media types stay as they are in both languages (they are what to send).
 */
export const server = {
  en: {
    "server.title.invalid_body": "Invalid request body",
    "server.title.invalid_query": "Invalid query parameters",
    "server.title.missing_idempotency_key": "Idempotency-Key header missing or malformed",
    "server.title.unauthorized": "Missing or invalid API key",
    "server.title.forbidden": "The API key lacks the scope for this call",
    "server.title.not_found": "Not found",
    "server.title.idempotency_in_flight": "A request with this Idempotency-Key is still being processed",
    "server.title.body_too_large": "Request body too large",
    "server.title.batch_too_large": "Too many items in one request",
    "server.title.unsupported_media_type": "Request body must be application/json",
    "server.title.idempotency_key_reused": "Idempotency-Key reused with a different request",
    "server.title.no_valid_hashes": "No valid hash in the request",
    "server.title.case_full": "The case holds as many hashes as it may",
    "server.title.rate_limited": "Too many requests",
    "server.title.quota_exceeded": "Daily quota used up",
    "server.title.internal": "Internal server error",
    "server.title.not_ready": "Service not ready",
    "server.title.storage_unavailable": "Storage failing",
    "server.title.storage_full": "Storage nearly full",

    "server.ready.starting": "the server is starting (loading its match index)",
    "server.ready.index": "the match index is still loading",
    "server.ready.storage": "the storage is failing ({kind}) since {since}; reads may still work",
    "server.body.tooLarge": "the body is larger than {max} bytes",
    "server.body.ended": "the request body ended early (the connection failed)",
    "server.body.mediaType": "the body must be application/json, not {type}",
    "server.body.untyped": "the body must be application/json, not untyped",
    "server.body.unexpected": "{method} {route} takes no body",
    "server.body.json": "the body is not valid JSON: {reason}",
    "server.body.batch": "{count} items in \"{key}\"; at most {max} in one request",
    "server.body.schema": "the body does not match the schema of this call",
    "server.storage.failing": "the server's storage is failing ({kind}); nothing was stored; retry later",
    "server.storage.failingRetry": "the server's storage is failing ({kind}); retry later",
    "server.storage.full": "the server is low on disk space and takes no new data for now; nothing was stored; retry later",
    "server.auth.caseNeeded": "this call needs `Authorization: Case <caseSecret>`",
    "server.auth.caseNotFound": "no such case, or not this secret",
    "server.auth.unknownKey": "unknown or revoked API key",
    "server.auth.keyNeeded": "this call needs `Authorization: Bearer <key>`",
    "server.auth.scope": "this call needs the scope {scope}",
    "server.auth.intakeOnly": "only an intake key (scope intake) may be sent when creating a case",
    "server.rate.address": "too many requests from this address; retry after {seconds} s",
    "server.rate.case": "too many requests for this case; retry after {seconds} s",
    "server.rate.wrongSecret": "too many requests with a wrong secret for this case; retry after {seconds} s",
    "server.idem.missing": "every {method} needs an {header} header of 8..128 characters [A-Za-z0-9._:-] (a UUID)",
    "server.idem.reused": "this Idempotency-Key was used with a different request",
    "server.idem.inFlight": "a request with this Idempotency-Key is still running; retry later",
    "server.quota.casesAddress":
      "the daily quota of {max} new cases from this address is used up ({used} so far); nothing was stored; retry after {seconds} s",
    "server.quota.casesIntake":
      "the daily quota of {max} new cases from this intake key is used up ({used} so far); nothing was stored; retry after {seconds} s",
    "server.quota.hashesAddress":
      "the daily quota of {max} new hashes from this address is used up ({used} so far); nothing was stored; retry after {seconds} s",
    "server.quota.hashesIntake":
      "the daily quota of {max} new hashes from this intake key is used up ({used} so far); nothing was stored; retry after {seconds} s",
    "server.case.full": "a case holds at most {max} hashes and this one has {used}; nothing was added. Start another case for more",
    "server.case.noValidCreate": {
      one: "the hash is not valid; no case was created",
      other: "none of the {count} hashes is valid; no case was created",
    },
    "server.case.noValidAdd": {
      one: "the hash is not valid; nothing was added",
      other: "none of the {count} hashes is valid; nothing was added",
    },
    "server.case.noSuchHash": "no such hash in this case",
    "server.internal": "the server failed to handle this request; nothing was stored",
    "server.route.notFound": "no such route",
    "server.query.repeated": "the query parameter {name} is given {count} times",
    "server.feed.query": "the query does not match GET /v1/feed",
    "server.feed.cursor": "the cursor is not one this server gave out",
    "server.lookup.invalid": {
      one: "{count} of the queries is not a valid hash",
      other: "{count} of the queries are not valid hashes",
    },
    "server.stopncii.scope": "this call needs a platform key with the scope feed:read",
    "server.stopncii.unknownKey": "unknown or revoked API key (in x-functions-key / Ocp-Apim-Subscription-Key)",
    "server.stopncii.keyNeeded":
      "this call needs a hashsafe platform key with feed:read in the x-functions-key or Ocp-Apim-Subscription-Key header",
    "server.stopncii.startTimestamp": "startTimestamp must be Unix seconds (an integer 0..{max}), not {value}",
    "server.stopncii.pageSize": "pageSize must be an integer 1..{max}, not {value}",
    "server.stopncii.badToken":
      "the nextPageToken is not one this server gave out (or the server's token key changed); fetch again from your checkpoint (startTimestamp = the last nextSetTimestamp) without a token",
    "server.stopncii.expiredToken":
      "the nextPageToken expired (tokens are valid for {minutes} minutes); fetch again from your checkpoint (startTimestamp = the last nextSetTimestamp) without a token",
    "server.stopncii.tokenMismatch":
      "this nextPageToken belongs to startTimestamp={tokenStart}, not {start}; send the same startTimestamp with every page",
  },
  es: {
    "server.title.invalid_body": "El cuerpo de la solicitud no es válido",
    "server.title.invalid_query": "Los parámetros de la consulta no son válidos",
    "server.title.missing_idempotency_key": "Falta el encabezado Idempotency-Key o no es válido",
    "server.title.unauthorized": "Falta la clave de API o no es válida",
    "server.title.forbidden": "La clave de API no tiene el permiso para esta llamada",
    "server.title.not_found": "No se encontró",
    "server.title.idempotency_in_flight": "Todavía se está procesando una solicitud con esta Idempotency-Key",
    "server.title.body_too_large": "El cuerpo de la solicitud es demasiado grande",
    "server.title.batch_too_large": "Demasiados elementos en una sola solicitud",
    "server.title.unsupported_media_type": "El cuerpo de la solicitud debe ser application/json",
    "server.title.idempotency_key_reused": "Esta Idempotency-Key ya se usó con otra solicitud",
    "server.title.no_valid_hashes": "La solicitud no trae ninguna huella válida",
    "server.title.case_full": "El caso ya tiene todas las huellas que puede tener",
    "server.title.rate_limited": "Demasiadas solicitudes",
    "server.title.quota_exceeded": "Se agotó la cuota diaria",
    "server.title.internal": "Error interno del servidor",
    "server.title.not_ready": "El servicio todavía no está listo",
    "server.title.storage_unavailable": "El almacenamiento está fallando",
    "server.title.storage_full": "El almacenamiento está casi lleno",

    "server.ready.starting": "el servidor está arrancando (está cargando su índice de huellas)",
    "server.ready.index": "el índice de huellas todavía se está cargando",
    "server.ready.storage": "el almacenamiento está fallando ({kind}) desde {since}; puede que las lecturas todavía funcionen",
    "server.body.tooLarge": "el cuerpo de la solicitud pasa de {max} bytes",
    "server.body.ended": "el cuerpo de la solicitud se cortó antes de terminar (falló la conexión)",
    "server.body.mediaType": "el cuerpo debe ser application/json, no {type}",
    "server.body.untyped": "el cuerpo debe ser application/json, y llegó sin tipo",
    "server.body.unexpected": "{method} {route} no lleva cuerpo",
    "server.body.json": "el cuerpo no es JSON válido: {reason}",
    "server.body.batch": "{count} elementos en \"{key}\"; como máximo se aceptan {max} por solicitud",
    "server.body.schema": "el cuerpo no sigue el esquema de esta llamada",
    "server.storage.failing": "el almacenamiento del servidor está fallando ({kind}); no se guardó nada; vuelve a intentarlo más tarde",
    "server.storage.failingRetry": "el almacenamiento del servidor está fallando ({kind}); vuelve a intentarlo más tarde",
    "server.storage.full":
      "al servidor le queda poco espacio en disco y por ahora no recibe datos nuevos; no se guardó nada; vuelve a intentarlo más tarde",
    "server.auth.caseNeeded": "esta llamada necesita la clave del caso: `Authorization: Case <caseSecret>`",
    "server.auth.caseNotFound": "no hay un caso con ese id, o la clave no es la correcta",
    "server.auth.unknownKey": "la clave de API no existe o fue revocada",
    "server.auth.keyNeeded": "esta llamada necesita una clave de API: `Authorization: Bearer <key>`",
    "server.auth.scope": "esta llamada necesita el permiso {scope}",
    "server.auth.intakeOnly": "al crear un caso solo se puede enviar una clave de ingreso (permiso intake)",
    "server.rate.address": "demasiadas solicitudes desde esta dirección; vuelve a intentarlo en {seconds} s",
    "server.rate.case": "demasiadas solicitudes para este caso; vuelve a intentarlo en {seconds} s",
    "server.rate.wrongSecret": "demasiados intentos con una clave equivocada para este caso; vuelve a intentarlo en {seconds} s",
    "server.idem.missing": "cada {method} necesita un encabezado {header} de 8 a 128 caracteres [A-Za-z0-9._:-] (un UUID)",
    "server.idem.reused": "esta Idempotency-Key ya se usó con otra solicitud",
    "server.idem.inFlight": "una solicitud con esta Idempotency-Key todavía está en curso; vuelve a intentarlo más tarde",
    "server.quota.casesAddress":
      "se agotó la cuota diaria de {max} casos nuevos desde esta dirección (van {used}); no se guardó nada; vuelve a intentarlo en {seconds} s",
    "server.quota.casesIntake":
      "se agotó la cuota diaria de {max} casos nuevos de esta clave de ingreso (van {used}); no se guardó nada; vuelve a intentarlo en {seconds} s",
    "server.quota.hashesAddress":
      "se agotó la cuota diaria de {max} huellas nuevas desde esta dirección (van {used}); no se guardó nada; vuelve a intentarlo en {seconds} s",
    "server.quota.hashesIntake":
      "se agotó la cuota diaria de {max} huellas nuevas de esta clave de ingreso (van {used}); no se guardó nada; vuelve a intentarlo en {seconds} s",
    "server.case.full":
      "un caso puede tener como máximo {max} huellas y este ya tiene {used}; no se agregó nada. Para agregar más, empieza otro caso",
    "server.case.noValidCreate": {
      one: "la huella no es válida; no se creó ningún caso",
      other: "ninguna de las {count} huellas es válida; no se creó ningún caso",
    },
    "server.case.noValidAdd": {
      one: "la huella no es válida; no se agregó nada",
      other: "ninguna de las {count} huellas es válida; no se agregó nada",
    },
    "server.case.noSuchHash": "este caso no tiene esa huella",
    "server.internal": "el servidor no pudo atender esta solicitud; no se guardó nada",
    "server.route.notFound": "esa ruta no existe",
    "server.query.repeated": "el parámetro de consulta {name} aparece {count} veces",
    "server.feed.query": "la consulta no sigue lo que espera GET /v1/feed",
    "server.feed.cursor": "ese cursor no lo dio este servidor",
    "server.lookup.invalid": {
      one: "{count} de las consultas no es una huella válida",
      other: "{count} de las consultas no son huellas válidas",
    },
    "server.stopncii.scope": "esta llamada necesita una clave de plataforma con el permiso feed:read",
    "server.stopncii.unknownKey": "la clave de API (en x-functions-key / Ocp-Apim-Subscription-Key) no existe o fue revocada",
    "server.stopncii.keyNeeded":
      "esta llamada necesita una clave de plataforma de hashsafe con feed:read en el encabezado x-functions-key u Ocp-Apim-Subscription-Key",
    "server.stopncii.startTimestamp": "startTimestamp debe ir en segundos Unix (un entero de 0 a {max}), no {value}",
    "server.stopncii.pageSize": "pageSize debe ser un entero de 1 a {max}, no {value}",
    "server.stopncii.badToken":
      "ese nextPageToken no lo dio este servidor (o cambió la clave de sus tokens); vuelve a pedir desde tu punto de control (startTimestamp = el último nextSetTimestamp) sin token",
    "server.stopncii.expiredToken":
      "el nextPageToken venció (los tokens valen {minutes} minutos); vuelve a pedir desde tu punto de control (startTimestamp = el último nextSetTimestamp) sin token",
    "server.stopncii.tokenMismatch":
      "este nextPageToken corresponde a startTimestamp={tokenStart}, no a {start}; envía el mismo startTimestamp en cada página",
  },
} as const;
