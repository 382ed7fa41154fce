"""dom0 itself, as the console and `xenbox host` show it.

- `summary`           hostname, addresses, Xen's version, CPU, memory and HVM support
- `password`          console passwords as yescrypt hashes; which hashes are strong enough
- `console_password`  where the console's password and idle lock are kept (config/console.toml)
- `data_store_word`   the boot's word to the consoles: has the data store, and so the password, been read?
- `wrong_tries`       wrong console passwords counted across consoles and their restarts (/run)
- `boot_messages`     "xenbox: ..." lines said at boot on the serial console, kept in /run/xenbox/boot.log
- `kernel_messages`   the kernel's errors printed over the consoles, so they can draw themselves again
"""
