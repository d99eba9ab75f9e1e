/**
 * Words shared by the CLI, the page and the server. Keys are "common.*".
 *
 * "Huella" is the Spanish word for a hash (a PDQ or MD5 hash of a picture);
 * common.hash.explain says once what it is.
 */
export const common = {
  en: {
    "common.hash": { one: "hash", other: "hashes" },
    "common.picture": { one: "picture", other: "pictures" },
    "common.case": "case",
    "common.yes": "yes",
    "common.no": "no",
    "common.hash.explain":
      "A hash is a short code worked out from a picture on this device. It cannot be turned back into the picture; platforms use it to recognise copies and block them.",
  },
  es: {
    "common.hash": { one: "huella", other: "huellas" },
    "common.picture": { one: "foto", other: "fotos" },
    "common.case": "caso",
    "common.yes": "sí",
    "common.no": "no",
    "common.hash.explain":
      "Una huella es un código corto que se calcula a partir de una foto, aquí en este dispositivo. No se puede convertir de vuelta en la foto; las plataformas la usan para reconocer copias y bloquearlas.",
  },
} as const;
