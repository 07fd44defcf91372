// Identifiers of AI connection strings and tasks, generated from a name as RavenDB does:
// NFD-normalize, keep a-z and 0-9, lower-case A-Z, turn any other run of characters into one
// '-', and trim trailing '-'. The server applies the same rule and validates again.

export const CONNECTION_STRING_FALLBACK = 'ai-connection-string-identifier';
export const TASK_FALLBACK = 'ai-task-identifier';

const isLowerOrDigit = (char) => (char >= 'a' && char <= 'z') || (char >= '0' && char <= '9');

export function generateIdentifier(name, fallback = CONNECTION_STRING_FALLBACK) {
  if (!name || name.trim() === '') return null;
  let out = '';
  // NFD splits "é" into "e" + a combining accent: the letter stays, the accent becomes a '-'.
  for (const char of name.normalize('NFD')) {
    if (isLowerOrDigit(char)) out += char;
    else if (char >= 'A' && char <= 'Z') out += char.toLowerCase();
    else if (out !== '' && !out.endsWith('-')) out += '-';
  }
  out = out.replace(/-+$/, '');
  return out || fallback;
}

// Every rule the identifier breaks, as short phrases; empty when it is valid.
export function identifierProblems(value) {
  if (!value || value.trim() === '') return ['cannot be empty'];
  const problems = [];
  if (value.normalize('NFD') !== value) problems.push('contains diacritical marks or non-ASCII characters');
  if (/\p{Lu}/u.test(value)) problems.push('contains uppercase letters');
  const invalid = [...new Set([...value].filter((char) => !isLowerOrDigit(char) && char !== '-'))];
  if (invalid.length > 0) {
    problems.push(`contains ${invalid.map((char) => `'${char}'`).join(', ')}; only a-z, 0-9 and '-' are allowed`);
  }
  if (value.includes('--')) problems.push("contains '--'");
  if (value.endsWith('-')) problems.push("ends with '-'");
  return problems;
}

export function identifierMessage(value) {
  const problems = identifierProblems(value);
  return problems.length ? `The identifier ${problems.join('; ')}.` : '';
}
