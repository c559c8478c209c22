"""The MSK IAM token of AWS's aws-msk-iam-sasl-signer-python for fixed credentials and a fixed time.

    msk_token_oracle.py REGION ACCESS_KEY_ID SECRET_ACCESS_KEY SESSION_TOKEN|- EPOCH_SECONDS

Prints the token and its expiry in milliseconds, one per line. The signer takes its credentials from a
botocore CredentialProvider passed in (no network) and its time from botocore.auth.get_current_datetime,
which is patched to the given instant.
"""
import datetime
import sys
from unittest import mock

import botocore.auth
from aws_msk_iam_sasl_signer import MSKAuthTokenProvider
from botocore.credentials import CredentialProvider, Credentials


class FixedCredentials(CredentialProvider):
    def __init__(self, access_key, secret_key, token):
        super().__init__()
        self._credentials = Credentials(access_key, secret_key, token)

    def load(self):
        return self._credentials


def main():
    region, access_key, secret_key, session_token, epoch = sys.argv[1:6]
    instant = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).replace(tzinfo=None)
    provider = FixedCredentials(access_key, secret_key, None if session_token == "-" else session_token)
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda *args, **kwargs: instant):
        token, expiry_ms = MSKAuthTokenProvider.generate_auth_token_from_credentials_provider(region, provider)
    print(token)
    print(expiry_ms)


if __name__ == "__main__":
    main()
