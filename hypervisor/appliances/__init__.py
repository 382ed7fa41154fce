"""Appliances: a bundle (a folder, or a .tar of one) holding `appliance.toml` and its images.

- `manifest`   reads and checks appliance.toml into frozen dataclasses; `load_bundle`
- `guest_paths` the one gate for host paths a guest is given (bundle files, pool images, data store
               volumes): manifests, starts, imports and restores all go through it
- `safe_tar`   unpacks a bundle's tar without letting it write outside its folder
- `xlcfg`      manifest -> xl.cfg for `xl create`, and /etc/xen/*.cfg -> appliance.toml;
               `importing` places that appliance's paths in a new bundle
- `xlsyntax`   the xl.cfg language: settings, disk specs, vif specs, quoting
- `catalog`    the installed appliances; `install` adds a bundle (`bundle_disks`: its disk images onto
               guest volumes; `staging`: put in place in one step); `launch` starts one, `autostart` all;
               `saved` restores a guest from its save file
- `claims`     which host disks, pools and volumes the appliances use, for storage to be told

Reading fields strictly, listing every problem and writing TOML are hypervisor.settings'.

Nothing is imported here: the console reads the autostart status from this package, and its
first frame at boot should not wait for the manifest parser.
"""
