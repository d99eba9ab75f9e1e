/**
 * Questions on the terminal: a yes/no confirmation, and a secret typed
 * without echo. Both only when stdin and stderr are terminals; callers check
 * {@link canAsk} first and explain what to do otherwise.
 */
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { isYes, yesWords } from "../i18n/index.ts";
import { cliLang, tr } from "./lang.ts";

/** True when a person can be asked (stdin and stderr are terminals). */
export function canAsk(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

/**
 * Ask a yes/no question on stderr, saying which answers mean yes: y/yes in
 * English, s/sí/si (and y/yes) in Spanish. Anything else is a no.
 */
export async function confirm(question: string): Promise<boolean> {
  const lang = cliLang();
  const words = yesWords(lang);
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.question(`${question} ${tr("cli.confirm.accepts", { words: words.join(", ") })} ${tr("cli.confirm.suffix", { yes: words[0] })} `, resolve);
      rl.once("close", () => resolve(""));
    });
    return isYes(lang, answer);
  } finally {
    rl.close();
  }
}

/** Ask for a secret on stderr without showing what is typed. */
export async function askSecret(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.question(`${question} `, resolve);
      muted = true;
      rl.once("close", () => resolve(""));
    });
    process.stderr.write("\n");
    return answer.trim();
  } finally {
    rl.close();
  }
}
