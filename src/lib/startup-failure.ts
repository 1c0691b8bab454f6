/** A start-up failure the operator can fix, as the one line the CLI prints and the exit code it exits with. */
export interface StartupFailure {
  message: string;
  /** 78 (EX_CONFIG): a configured value cannot work, restarting will not help; 1: the machine's state, may clear up. */
  exitCode: 1 | 78;
}

/** A start-up failure already described (e.g. the database in DATABASE_URL cannot be reached): printed as it is. */
export class StartupFailureError extends Error {
  override name = 'StartupFailureError';

  constructor(
    message: string,
    readonly exitCode: StartupFailure['exitCode'],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The fields Node puts on errors from system calls (listen, getaddrinfo, mkdir, open...). */
interface SystemError {
  code: string;
  syscall?: string;
  address?: string;
  port?: number;
  hostname?: string;
  path?: string;
}

const REASONS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this machine',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'part of the path is a file, not a folder',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'is a folder, expected a file',
};

/** Codes of file-system calls that mean "this path cannot be written". */
const WRITE_FAILURES = new Set(['EACCES', 'EPERM', 'ENOTDIR', 'EROFS', 'ENOSPC', 'EDQUOT', 'EISDIR']);

function isSystemError(error: unknown): error is SystemError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

function hostPort(address: string | undefined, port: number | undefined): string {
  const host = address === undefined ? '?' : address.includes(':') ? `[${address}]` : address;
  return port === undefined ? host : `${host}:${port}`; // Node leaves the port out when PORT=0 asked for any
}

/**
 * Names the cause of a start-up failure that is not a bug (port taken, data folder not writable, HOST that does not
 * resolve) so the CLI prints one line instead of a stack trace; null for anything else, which stays "unexpected".
 */
export function describeStartupFailure(error: unknown): StartupFailure | null {
  if (error instanceof StartupFailureError) return { message: error.message, exitCode: error.exitCode };
  if (!isSystemError(error)) return null;
  const { code, syscall } = error;
  const reason = `${REASONS[code] ?? code.toLowerCase()} (${code})`;
  if (syscall === 'listen' || syscall === 'bind') {
    const where = hostPort(error.address, error.port);
    if (code === 'EADDRINUSE') return { message: `cannot listen on ${where}: address already in use; set PORT to a free port`, exitCode: 1 };
    if (code === 'EACCES') return { message: `cannot listen on ${where}: permission denied (EACCES); ports below 1024 need privileges, set PORT`, exitCode: 78 };
    return { message: `cannot listen on ${where}: ${reason}; check HOST and PORT`, exitCode: 78 };
  }
  if (syscall === 'getaddrinfo') {
    const host = error.hostname ?? '?';
    if (code === 'EAI_AGAIN') return { message: `cannot listen on HOST "${host}": the name could not be resolved now (EAI_AGAIN)`, exitCode: 1 };
    return { message: `cannot listen on HOST "${host}": the name does not resolve to an address (${code}); set HOST to an address or name of this machine`, exitCode: 78 };
  }
  if (error.path !== undefined && WRITE_FAILURES.has(code)) {
    return { message: `cannot write ${error.path}: ${reason}; the data folder (DATABASE_URL) must be a writable folder`, exitCode: 1 };
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY') {
    return { message: `cannot open the SQLite database for writing (${code}); the data folder (DATABASE_URL) must be a writable folder`, exitCode: 1 };
  }
  return null;
}
