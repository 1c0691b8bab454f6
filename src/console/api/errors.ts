import type { CombinedError } from '@urql/core';

/** One API error as the console shows it: message, code and (for input errors) the input path it concerns. */
export interface ApiError {
  message: string;
  code: string | null;
  field: string | null;
}

/** Flattens an urql error into the API's errors (or one network error), keeping extensions.code and .field. */
export function apiErrors(error: CombinedError | undefined | null): ApiError[] {
  if (!error) return [];
  if (error.graphQLErrors.length > 0) {
    return error.graphQLErrors.map((e) => ({
      message: e.message,
      code: typeof e.extensions?.code === 'string' ? e.extensions.code : null,
      field: typeof e.extensions?.field === 'string' ? e.extensions.field : null,
    }));
  }
  const network = error.networkError;
  return [{ message: network ? `Could not reach the server: ${network.message}` : error.message, code: 'NETWORK_ERROR', field: null }];
}

/** Errors split by the form control they belong to (`fieldFor` maps an input path to a control), the rest general. */
export interface FormErrors {
  byControl: Record<string, string>;
  general: ApiError[];
}

/** Places each error next to the control its `extensions.field` names (longest matching prefix wins). */
export function formErrors(errors: ApiError[], controls: Record<string, string>): FormErrors {
  const byControl: Record<string, string> = {};
  const general: ApiError[] = [];
  const paths = Object.keys(controls).sort((a, b) => b.length - a.length);
  for (const error of errors) {
    const path = error.field ? paths.find((p) => error.field === p || error.field!.startsWith(`${p}.`)) : undefined;
    const control = path ? controls[path] : undefined;
    if (control && !byControl[control]) byControl[control] = describe(error);
    else general.push(error);
  }
  return { byControl, general };
}

/** "message (CODE)": what a person reads next to a field or above a form. */
export function describe(error: ApiError): string {
  return error.code && error.code !== 'NETWORK_ERROR' ? `${error.message} (${error.code})` : error.message;
}
