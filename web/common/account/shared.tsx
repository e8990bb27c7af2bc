/**
 * Pieces the account components share: the signed-in user's shape (`Me` of `GET /api/me`), turning a failed
 * call into a sentence for the user, the one-time-code field and the TOTP set-up panel (QR code, key, code).
 */
import { useEffect, useRef, type Ref } from 'react';
import { Box, TextField, Typography } from '@mui/material';
import { ApiError } from '../api.ts';
import { t } from '../i18n.ts';

/** The signed-in user as `GET /api/me`, login and sign-up return it. */
export interface Me {
  id: string; handle: string; email: string | null; role: 'viewer' | 'performer' | 'moderator' | 'senior_moderator' | 'admin';
  permissions: string[]; adult: boolean; totpEnabled: boolean; guidelinesAccepted: boolean;
}

/** The answer of login, sign-up and enrolment: the user, the CSRF token, the session's absolute expiry. */
export interface SignedIn { user: Me; csrfToken: string; expiresAt: string }

/** A TOTP set-up from `POST /api/auth/totp/setup`. */
export interface TotpSetup { secret: string; otpauthUrl: string; qrDataUrl: string }

/** A sentence for a failed call: network, rate limit (with the wait when known), a server without a data key, else the API's message. */
export function failureText(err: unknown): string {
  if (!(err instanceof ApiError)) return t('common.networkError');
  if (err.status === 0) return t('common.networkError');
  if (err.status === 429) return t('common.account.tooMany');
  if (err.status === 503 && /DATA_KEY/.test(err.message)) return t('common.account.noDataKey');
  return err.message;
}

/** Keeps only digits, at most 6 (apps show "123 456"). */
export const codeDigits = (v: string) => v.replace(/\D/g, '').slice(0, 6);

/** The 6-digit code field: `autocomplete="one-time-code"`, numeric keyboard, focused when it appears. */
export function CodeField({ value, onChange, testId, describedBy, inputRef }: { value: string; onChange(v: string): void; testId: string; describedBy?: string; inputRef?: Ref<HTMLInputElement> }) {
  const own = useRef<HTMLInputElement>(null);
  useEffect(() => { own.current?.focus(); }, []);
  return (
    <TextField label={t('common.account.totp.codeLabel')} required value={value} onChange={(e) => onChange(codeDigits(e.target.value))} autoComplete="one-time-code"
      inputRef={inputRef ?? own}
      slotProps={{ htmlInput: { inputMode: 'numeric', pattern: '[0-9]{6}', maxLength: 6, 'data-testid': testId, ...(describedBy ? { 'aria-describedby': describedBy } : {}) } }} />
  );
}

/** The QR code and the key (grouped by four for reading), for an authenticator app. */
export function TotpQr({ setup, describedById }: { setup: TotpSetup; describedById: string }) {
  return (
    <Box sx={{ display: 'flex', flexDirection: 'column', gap: 1 }}>
      <Typography variant="body2" id={describedById}>{t('common.account.totp.scan')}</Typography>
      <Box component="img" src={setup.qrDataUrl} alt={t('common.account.totp.qrAlt')} data-testid="totp-qr"
        sx={{ width: 200, height: 200, alignSelf: 'center', bgcolor: '#fff', imageRendering: 'pixelated' }} />
      <Typography variant="body2">
        {t('common.account.totp.key')}:{' '}
        <Box component="code" data-testid="totp-secret" data-secret={setup.secret} sx={{ fontFamily: 'monospace', fontSize: '1rem', wordBreak: 'break-all' }}>
          {setup.secret.match(/.{1,4}/g)?.join(' ')}
        </Box>
      </Typography>
    </Box>
  );
}
