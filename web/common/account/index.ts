/**
 * The account components both web apps mount: sign-in (with the TOTP step and staff enrolment), sign-up with the
 * community guidelines, the security settings (two-factor sign-in, signed-in devices) and password reset. Text
 * lives in web/i18n/<locale>/common.ts under `account`. Every control is labelled and keyboard operable.
 */
export { SignInForm, type SignInFormProps } from './SignInForm.tsx';
export { SignUpForm, type SignUpFormProps, type Guidelines } from './SignUpForm.tsx';
export { AccountSecurity, deviceName, type AccountSecurityProps, type SessionInfo } from './AccountSecurity.tsx';
export { PasswordResetRequest, PasswordResetConfirm, type PasswordResetRequestProps, type PasswordResetConfirmProps } from './PasswordReset.tsx';
export { failureText, type Me, type SignedIn, type TotpSetup } from './shared.tsx';
