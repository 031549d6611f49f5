// The words of one command line of `go build -n`. Go prints each argument bare, or quoted
// with strconv.Quote when it holds a space or one of ()>; (cmd/go's joinUnambiguously), and
// its few env prefixes in single quotes (GOROOT_FINAL='$GOROOT'); a `#` word starts a comment.

/** The words of `line`, with Go's and the shell's quoting undone; stops at a `#` comment. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === " " || line[i] === "\t") i++;
    if (i >= line.length) break;
    if (line[i] === "#") break;
    let word = "";
    while (i < line.length && line[i] !== " " && line[i] !== "\t") {
      const c = line[i]!;
      if (c === "'") {
        const end = line.indexOf("'", i + 1);
        if (end < 0) throw new Error(`unterminated ' in: ${line}`);
        word += line.slice(i + 1, end);
        i = end + 1;
      } else if (c === '"') {
        const [text, next] = goQuoted(line, i);
        word += text;
        i = next;
      } else {
        word += c;
        i++;
      }
    }
    words.push(word);
  }
  return words;
}

const simpleEscapes: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", '"': '"', "'": "'" };

/** The Go string literal starting at line[start] (a `"`), unquoted, and the index after it. */
function goQuoted(line: string, start: number): [string, number] {
  const bytes: number[] = [];
  const pushText = (s: string): void => { for (const b of Buffer.from(s, "utf8")) bytes.push(b); };
  let i = start + 1;
  while (i < line.length) {
    const c = line[i]!;
    if (c === '"') return [Buffer.from(bytes).toString("utf8"), i + 1];
    if (c !== "\\") {
      const cp = line.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      pushText(ch);
      i += ch.length;
      continue;
    }
    const e = line[i + 1];
    if (e === undefined) break;
    if (e in simpleEscapes) {
      pushText(simpleEscapes[e]!);
      i += 2;
    } else if (e === "x") {
      bytes.push(parseInt(line.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (e === "u" || e === "U") {
      const n = e === "u" ? 4 : 8;
      pushText(String.fromCodePoint(parseInt(line.slice(i + 2, i + 2 + n), 16)));
      i += 2 + n;
    } else if (e >= "0" && e <= "7") {
      bytes.push(parseInt(line.slice(i + 1, i + 4), 8));
      i += 4;
    } else {
      throw new Error(`unknown escape \\${e} in: ${line}`);
    }
  }
  throw new Error(`unterminated " in: ${line}`);
}
