/** Text both web apps use (English). */
export const common = {
  appName: 'Warden',
  signIn: 'Sign in',
  signOut: 'Sign out',
  email: 'E-mail',
  password: 'Password',
  loading: 'Loading…',
  retry: 'Try again',
  networkError: 'The server could not be reached. Check your connection and try again.',
};
