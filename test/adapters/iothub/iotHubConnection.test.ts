import { makeSasToken, parseSasToken } from '../../../shared/adapters/iothub/iotHubConnection';
import {
  IotHubConnectionStringError,
  hubNameOfHost,
  parseIotHubConnectionString,
} from '../../../shared/config/iotHubConnectionString';
import { HOUR_MS } from '../../../shared/domain/Clock';

// The bytes 0..31, base64: a key whose signature holds `+` and `=`, so escaping is exercised.
const KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const CONNECTION_STRING = `HostName=Contoso-Hub.azure-devices.net;SharedAccessKeyName=service;SharedAccessKey=${KEY}`;

function errorOf(text: string): IotHubConnectionStringError {
  try {
    parseIotHubConnectionString(text);
  } catch (error) {
    expect(error).toBeInstanceOf(IotHubConnectionStringError);
    return error as IotHubConnectionStringError;
  }
  throw new Error('expected an IotHubConnectionStringError');
}

describe('parseIotHubConnectionString', () => {
  it('reads host, policy and key, and names the hub by the first label in lower case', () => {
    expect(parseIotHubConnectionString(CONNECTION_STRING)).toStrictEqual({
      hostName: 'Contoso-Hub.azure-devices.net',
      hubName: 'contoso-hub',
      sharedAccessKeyName: 'service',
      sharedAccessKey: KEY,
    });
  });

  it('accepts the parts in any order, any case of their names, with blanks and a trailing semicolon', () => {
    const parsed = parseIotHubConnectionString(
      ` sharedaccesskey=${KEY} ; SHAREDACCESSKEYNAME=service;hostname=contoso-hub.azure-devices.net; `,
    );
    expect(parsed.hubName).toBe('contoso-hub');
    expect(parsed.sharedAccessKey).toBe(KEY);
  });

  it('keeps the padding of a key, which ends in =', () => {
    expect(parseIotHubConnectionString(CONNECTION_STRING).sharedAccessKey.endsWith('=')).toBe(true);
  });

  it('names every missing part', () => {
    expect(errorOf(`HostName=contoso-hub.azure-devices.net`).message).toBe(
      'missing SharedAccessKeyName, SharedAccessKey',
    );
  });

  it('refuses a device connection string, which cannot call direct methods', () => {
    expect(
      errorOf(`HostName=contoso-hub.azure-devices.net;DeviceId=d1;SharedAccessKey=${KEY}`).message,
    ).toMatch(/device connection string/);
  });

  it('refuses a host name that is not one', () => {
    expect(
      errorOf(`HostName=https://contoso;SharedAccessKeyName=service;SharedAccessKey=${KEY}`)
        .message,
    ).toMatch(/is not a host name/);
  });

  it('never puts the key in its error, even when the key is what is wrong', () => {
    const badKey = 'not*base64*secret';
    const error = errorOf(
      `HostName=contoso-hub.azure-devices.net;SharedAccessKeyName=service;SharedAccessKey=${badKey}`,
    );
    expect(error.message).toMatch(/SharedAccessKey of policy service is not base64/);
    expect(error.message).not.toContain(badKey);
    expect(errorOf(`${KEY}`).message).not.toContain(KEY);
  });
});

describe('hubNameOfHost', () => {
  it('takes the first DNS label, lower-cased, in any Azure cloud', () => {
    expect(hubNameOfHost('Contoso-Hub.azure-devices.net')).toBe('contoso-hub');
    expect(hubNameOfHost('fabrikam.azure-devices.cn')).toBe('fabrikam');
  });
});

describe('makeSasToken', () => {
  const policy = {
    hostName: 'contoso-hub.azure-devices.net',
    sharedAccessKeyName: 'service',
    sharedAccessKey: KEY,
  };

  it('matches a token computed independently (Python hmac) for the same key, host and time', () => {
    // sig = base64(HMAC-SHA256(base64decode(key), "contoso-hub.azure-devices.net\n1767229200"))
    expect(makeSasToken(policy, new Date('2026-01-01T00:00:00Z')).header).toBe(
      'SharedAccessSignature sr=contoso-hub.azure-devices.net' +
        '&sig=OX5STcPkzIZTbYZ%2BmiHFHWH2IdWXkzrJLHz5VFg4nYc%3D&se=1767229200&skn=service',
    );
  });

  it('expires one hour after the given time by default, on a whole second', () => {
    const token = makeSasToken(policy, new Date('2026-03-01T10:00:00.750Z'));
    expect(token.expiresAt.toISOString()).toBe('2026-03-01T11:00:00.000Z');
    expect(parseSasToken(token.header)?.se).toBe(token.expiresAt.getTime() / 1000);
  });

  it('takes another lifetime when asked', () => {
    const token = makeSasToken(policy, new Date('2026-03-01T10:00:00Z'), 2 * HOUR_MS);
    expect(token.expiresAt.toISOString()).toBe('2026-03-01T12:00:00.000Z');
  });

  it('signs differently at another time, so an old signature cannot be replayed with a new expiry', () => {
    const a = parseSasToken(makeSasToken(policy, new Date('2026-03-01T10:00:00Z')).header);
    const b = parseSasToken(makeSasToken(policy, new Date('2026-03-01T10:00:01Z')).header);
    expect(a?.sig).not.toBe(b?.sig);
  });

  it('escapes the policy name and never writes the key into the token', () => {
    const header = makeSasToken(
      { ...policy, sharedAccessKeyName: 'ops&renewals' },
      new Date('2026-03-01T10:00:00Z'),
    ).header;
    expect(header).toMatch(/&skn=ops%26renewals$/);
    expect(header).not.toContain(KEY);
  });
});

describe('parseSasToken', () => {
  it('decodes the fields of a SharedAccessSignature header', () => {
    expect(
      parseSasToken('SharedAccessSignature sr=h.azure-devices.net&sig=a%2Bb%3D&se=10&skn=service'),
    ).toStrictEqual({ sr: 'h.azure-devices.net', sig: 'a+b=', se: 10, skn: 'service' });
  });

  it('returns undefined for a bearer token or a token without an expiry', () => {
    expect(parseSasToken('Bearer eyJ0eXAi')).toBeUndefined();
    expect(parseSasToken('SharedAccessSignature sr=h&sig=x')).toBeUndefined();
  });
});
