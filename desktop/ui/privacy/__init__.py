"""The store's privacy: Privacy dialog, unlocking, passphrase dialogs."""
